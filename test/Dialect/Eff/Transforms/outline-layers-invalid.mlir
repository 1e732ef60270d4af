// RUN: effc-opt %s '--eff-outline-layers=min-layers=1' -verify-diagnostics

// A group of one layer would be a function per layer, which saves nothing.
// expected-error @below {{eff-outline-layers: min-layers must be at least 2, not 1}}
module {
}
