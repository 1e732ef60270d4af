// RUN: rm -rf %t && %PYTHON %S/make_safetensors.py %t
// RUN: effc-opt %s -split-input-file --eff-materialize-parameters=base-dir=%t -verify-diagnostics
// RUN: not effc-opt %s --split-input-file '--eff-materialize-parameters=weights-file=%t/absent.safetensors' 2>&1 | FileCheck %s --check-prefix=OPTION

// Every diagnostic of eff-materialize-parameters (lib/Dialect/Eff/Transforms/MaterializeParameters.cpp) and of
// the safetensors reader it reports (lib/Support/Safetensors.cpp). Parameter errors are reported at the
// eff.parameter; file errors at the module, with the file's path (base-dir joined with eff.weights) in front.
// make_safetensors.py writes one file per broken case.

// The weights-file option names the file in the message (the path is the option's, not joined with base-dir).
// OPTION: error: {{.*}}absent.safetensors: cannot open weights file: No such file or directory

//===----------------------------------------------------------------------===//
// Parameters
//===----------------------------------------------------------------------===//

// No eff.weights attribute and no weights-file option: reported at the first parameter only.
module {
  func.func @no_weights_file() -> (tensor<2xf32>, tensor<2xf32>) {
    // expected-error @+1 {{'eff.parameter' op names a parameter, but no weights file was given (module attribute 'eff.weights' or the driver's --weights)}}
    %w = eff.parameter "w" : tensor<2xf32>
    %v = eff.parameter "v" : tensor<2xf32>
    return %w, %v : tensor<2xf32>, tensor<2xf32>
  }
}

// -----

module attributes {eff.weights = "tiny.safetensors"} {
  func.func @not_in_file() -> tensor<2xf32> {
    // expected-error-re @+1 {{'eff.parameter' op parameter 'encoder.weight' is not in weights file {{.*}}tiny.safetensors{{$}}}}
    %w = eff.parameter "encoder.weight" : tensor<2xf32>
    return %w : tensor<2xf32>
  }
}

// -----

// Every bad parameter of a module is reported, not just the first.
module attributes {eff.weights = "tiny.safetensors"} {
  func.func @shape_mismatch() -> (tensor<3x2xf32>, tensor<6xf32>) {
    // expected-error-re @+1 {{'eff.parameter' op parameter 'fc.weight' is F32 [2, 3] in {{.*}}tiny.safetensors, but the IR declares 'tensor<3x2xf32>'}}
    %w = eff.parameter "fc.weight" : tensor<3x2xf32>
    // expected-error-re @+1 {{'eff.parameter' op parameter 'fc.weight' is F32 [2, 3] in {{.*}}tiny.safetensors, but the IR declares 'tensor<6xf32>'}}
    %v = eff.parameter "fc.weight" : tensor<6xf32>
    return %w, %v : tensor<3x2xf32>, tensor<6xf32>
  }
}

// -----

module attributes {eff.weights = "tiny.safetensors"} {
  func.func @dtype_mismatch() -> tensor<3xf32> {
    // expected-error-re @+1 {{'eff.parameter' op parameter 'fc.bias' is F16 [3] in {{.*}}tiny.safetensors, but the IR declares 'tensor<3xf32>'}}
    %b = eff.parameter "fc.bias" : tensor<3xf32>
    return %b : tensor<3xf32>
  }
}

// -----

// An element type with no safetensors dtype never matches.
module attributes {eff.weights = "tiny.safetensors"} {
  func.func @unmapped_element_type() -> tensor<3xi16> {
    // expected-error-re @+1 {{'eff.parameter' op parameter 'fc.bias' is F16 [3] in {{.*}}tiny.safetensors, but the IR declares 'tensor<3xi16>'}}
    %b = eff.parameter "fc.bias" : tensor<3xi16>
    return %b : tensor<3xi16>
  }
}

// -----

//===----------------------------------------------------------------------===//
// Files
//===----------------------------------------------------------------------===//

// expected-error-re @+1 {{{{.*}}absent.safetensors: cannot open weights file: No such file or directory}}
module attributes {eff.weights = "absent.safetensors"} {
  func.func @file_not_found() -> tensor<2xf32> {
    %w = eff.parameter "w" : tensor<2xf32>
    return %w : tensor<2xf32>
  }
}

// -----

// A directory is not a weights file either.
// expected-error @+1 {{cannot open weights file}}
module attributes {eff.weights = "."} {
  func.func @directory() -> tensor<2xf32> {
    %w = eff.parameter "w" : tensor<2xf32>
    return %w : tensor<2xf32>
  }
}

// -----

// expected-error @+1 {{no_header.safetensors: truncated safetensors file: 3 bytes, no header}}
module attributes {eff.weights = "no_header.safetensors"} {
  func.func @no_header() -> tensor<2xf32> {
    %w = eff.parameter "w" : tensor<2xf32>
    return %w : tensor<2xf32>
  }
}

// -----

// The header length claims more bytes than the file has.
// expected-error @+1 {{truncated_header.safetensors: truncated safetensors file: header of 4096 bytes, file has 70}}
module attributes {eff.weights = "truncated_header.safetensors"} {
  func.func @truncated_header() -> tensor<2xf32> {
    %w = eff.parameter "w" : tensor<2xf32>
    return %w : tensor<2xf32>
  }
}

// -----

// The data section ends before the tensor does.
// expected-error @+1 {{truncated_data.safetensors: truncated safetensors file: tensor 'w' ends at byte 16 of a 8-byte data section}}
module attributes {eff.weights = "truncated_data.safetensors"} {
  func.func @truncated_data() -> tensor<4xf32> {
    %w = eff.parameter "w" : tensor<4xf32>
    return %w : tensor<4xf32>
  }
}

// -----

// expected-error @+1 {{malformed_json.safetensors: malformed safetensors header: }}
module attributes {eff.weights = "malformed_json.safetensors"} {
  func.func @malformed_json() -> tensor<2xf32> {
    %w = eff.parameter "w" : tensor<2xf32>
    return %w : tensor<2xf32>
  }
}

// -----

// expected-error @+1 {{not_object.safetensors: malformed safetensors header: not a JSON object}}
module attributes {eff.weights = "not_object.safetensors"} {
  func.func @not_object() -> tensor<2xf32> {
    %w = eff.parameter "w" : tensor<2xf32>
    return %w : tensor<2xf32>
  }
}

// -----

// expected-error @+1 {{missing_field.safetensors: tensor 'w' lacks dtype, shape or data_offsets}}
module attributes {eff.weights = "missing_field.safetensors"} {
  func.func @missing_field() -> tensor<2xf32> {
    %w = eff.parameter "w" : tensor<2xf32>
    return %w : tensor<2xf32>
  }
}

// -----

// expected-error @+1 {{bad_shape.safetensors: tensor 'w' has an invalid shape}}
module attributes {eff.weights = "bad_shape.safetensors"} {
  func.func @bad_shape() -> tensor<2xf32> {
    %w = eff.parameter "w" : tensor<2xf32>
    return %w : tensor<2xf32>
  }
}

// -----

// expected-error @+1 {{bad_offsets.safetensors: tensor 'w' has invalid data_offsets}}
module attributes {eff.weights = "bad_offsets.safetensors"} {
  func.func @bad_offsets() -> tensor<2xf32> {
    %w = eff.parameter "w" : tensor<2xf32>
    return %w : tensor<2xf32>
  }
}

// -----

// expected-error @+1 {{bad_dtype.safetensors: tensor 'w' has unsupported dtype C64}}
module attributes {eff.weights = "bad_dtype.safetensors"} {
  func.func @bad_dtype() -> tensor<2xf32> {
    %w = eff.parameter "w" : tensor<2xf32>
    return %w : tensor<2xf32>
  }
}

// -----

// expected-error @+1 {{size_mismatch.safetensors: tensor 'w' occupies 8 bytes, its shape needs 12}}
module attributes {eff.weights = "size_mismatch.safetensors"} {
  func.func @size_mismatch() -> tensor<3xf32> {
    %w = eff.parameter "w" : tensor<3xf32>
    return %w : tensor<3xf32>
  }
}

// -----

//===----------------------------------------------------------------------===//
// Sharded checkpoints and parameter views
//===----------------------------------------------------------------------===//

module attributes {eff.weights = ["shard_a.safetensors", "dup_a.safetensors"]} {
  func.func @in_two_shards() -> tensor<2xf32> {
    // expected-error-re @+1 {{'eff.parameter' op parameter 'a' is in two weights files, {{.*}}shard_a.safetensors and {{.*}}dup_a.safetensors}}
    %a = eff.parameter "a" : tensor<2xf32>
    return %a : tensor<2xf32>
  }
}

// -----

module attributes {eff.weights = ["shard_a.safetensors", "shard_b.safetensors"]} {
  func.func @in_no_shard() -> tensor<2xf32> {
    // expected-error-re @+1 {{'eff.parameter' op parameter 'c' is not in weights files {{.*}}shard_a.safetensors {{.*}}shard_b.safetensors{{$}}}}
    %c = eff.parameter "c" : tensor<2xf32>
    return %c : tensor<2xf32>
  }
}

// -----

// expected-error-re @+1 {{{{.*}}absent.safetensors: cannot open weights file: No such file or directory}}
module attributes {eff.weights = ["shard_a.safetensors", "absent.safetensors"]} {
  func.func @missing_shard() -> tensor<2xf32> {
    %a = eff.parameter "a" : tensor<2xf32>
    return %a : tensor<2xf32>
  }
}

// -----

// expected-error @+1 {{eff.weights must be a file name or an array of file names and {file = "...", prefix = "..."} entries with a non-empty prefix, but has element 1 : i64}}
module attributes {eff.weights = ["shard_a.safetensors", 1]} {
  func.func @not_a_name() -> tensor<2xf32> {
    %a = eff.parameter "a" : tensor<2xf32>
    return %a : tensor<2xf32>
  }
}

// -----

// expected-error @+1 {{eff.weights must be a file name or an array of file names and {file = "...", prefix = "..."} entries with a non-empty prefix, but has element {file = "shard_a.safetensors"}}
module attributes {eff.weights = [{file = "shard_a.safetensors"}]} {
  func.func @entry_without_prefix() -> tensor<2xf32> {
    %a = eff.parameter "a" : tensor<2xf32>
    return %a : tensor<2xf32>
  }
}

// -----

// expected-error @+1 {{eff.weights must be a file name or an array of file names and {file = "...", prefix = "..."} entries with a non-empty prefix, but has element {file = "shard_a.safetensors", prefix = ""}}
module attributes {eff.weights = [{file = "shard_a.safetensors", prefix = ""}]} {
  func.func @empty_prefix() -> tensor<2xf32> {
    %a = eff.parameter "a" : tensor<2xf32>
    return %a : tensor<2xf32>
  }
}

// -----

// A prefixed entry serves only names with its prefix: "a" is not looked up in it.
module attributes {eff.weights = ["shard_b.safetensors", {file = "shard_a.safetensors", prefix = "p."}]} {
  func.func @prefix_only() -> tensor<2xf32> {
    // expected-error @+1 {{parameter 'a' is not in weights files}}
    %a = eff.parameter "a" : tensor<2xf32>
    return %a : tensor<2xf32>
  }
}

// -----

// expected-error @+1 {{eff.weights is an empty array of file names}}
module attributes {eff.weights = []} {
  func.func @no_names() -> tensor<2xf32> {
    %a = eff.parameter "a" : tensor<2xf32>
    return %a : tensor<2xf32>
  }
}

// -----

// expected-error @+1 {{eff.weights must be a file name or an array of file names, not 7 : i64}}
module attributes {eff.weights = 7} {
  func.func @not_a_file_name() -> tensor<2xf32> {
    %a = eff.parameter "a" : tensor<2xf32>
    return %a : tensor<2xf32>
  }
}

// -----

// The view's shape is checked against the stored tensor: conv^T is [3, 2], so rows 2 and 3 do not exist.
module attributes {eff.weights = ["shard_a.safetensors"]} {
  func.func @view_out_of_range() -> tensor<2x2xf32> {
    // expected-error-re @+1 {{'eff.parameter' op parameter 'conv' is F32 [2, 3] in {{.*}}shard_a.safetensors, but the IR declares 'tensor<2x2xf32>' (each part [2, 2] transposed from row 2)}}
    %w = eff.parameter "conv" {transpose, row_offset = 2 : i64} : tensor<2x2xf32>
    return %w : tensor<2x2xf32>
  }
}

// -----

// A stacked part with the wrong shape is named.
module attributes {eff.weights = ["shard_a.safetensors", "shard_b.safetensors"]} {
  func.func @stack_part_shape() -> tensor<2x2x1xf32> {
    // expected-error-re @+1 {{'eff.parameter' op parameter 'e0' is F32 [1, 2] in {{.*}}shard_a.safetensors, but the IR declares 'tensor<2x2x1xf32>' (each part [2, 1])}}
    %e = eff.parameter "experts" {stack = ["e0", "e1"]} : tensor<2x2x1xf32>
    return %e : tensor<2x2x1xf32>
  }
}
