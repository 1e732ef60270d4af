//===- Passes.td - effc code generation passes -------------*- tablegen -*-===//
//
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// Passes between linalg on tensors and the LLVM dialect. Alphabetical.
//
//===----------------------------------------------------------------------===//

#ifndef EFFC_CODEGEN_PASSES_TD
#define EFFC_CODEGEN_PASSES_TD

include "mlir/Pass/PassBase.td"

def EffcApproximateMathPass : Pass<"effc-approximate-math"> {
  let summary = "Replace transcendental math ops by vectorisable polynomial approximations";
  let description = [{
    Expands `math.tanh`, `math.erf`, `math.exp`, `math.log` and friends into arithmetic (MLIR's polynomial
    approximations), so that the compiled module needs no libm and the activations vectorise. Accurate to
    about 1e-6 relative on f32.
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect", "::mlir::math::MathDialect",
                           "::mlir::vector::VectorDialect"];
}

def EffcSinkCallOperandBuffersPass : Pass<"effc-sink-call-operand-buffers", "::mlir::func::FuncOp"> {
  let summary = "Give each call its own to_buffer of every tensor it reads, right before it (before bufferization)";
  let description = [{
    Micro-kernel calls read tensors through `bufferization.to_buffer` ops (lib/Conversion/EffToLinalg), which
    are pure, so CSE merges those of two calls reading one tensor into the first. One-shot bufferization
    sees a tensor read only where its to_buffer is: after the merge it takes the tensor as dead after the
    first call and may let an op between the calls write in place over its buffer, which the second call
    still reads (a Llama layer's rotary embedding of q overwrote the normed input of the k and v
    projections). This pass runs right before bufferization and clones each shared to_buffer (and the
    memref.cast between it and the call) before every call that uses it, so that each read is where it
    happens:
    ```mlir
    %b = bufferization.to_buffer %x read_only : ...
    call @k1(%b, ...)
    %y = linalg.generic ... outs(%x_alias) ...   // may no longer write over %x
    call @k2(%b, ...)                            // gets its own to_buffer %x here
    ```
  }];
  let dependentDialects = ["::mlir::bufferization::BufferizationDialect", "::mlir::memref::MemRefDialect"];
}

def EffcPrepareEntryPointsPass : Pass<"effc-prepare-entry-points", "::mlir::ModuleOp"> {
  let summary = "Mark public functions as entry points with a C interface";
  let description = [{
    Requests `_mlir_ciface_<name>` wrappers (`llvm.emit_c_interface`) for every public `func.func`, which
    the target emitter wraps in the fixed-signature trampolines of runtime/include/effc/runtime/abi.h, and
    drops their `eff.name` argument and result attributes (the emitter records names before lowering).
    Private functions stay internal.
  }];
}

def EffcCpuLowerVectorsPass : Pass<"effc-cpu-lower-vectors"> {
  let summary = "Lower vector contractions, transfers and masks for the CPU, after bufferization";
  let description = [{
    Lowers `vector.contract` to outer products (FMAs on broadcast rows), transfers to 1-D loads and stores,
    multi-reductions, transposes, shape casts and masks, so that the LLVM conversion sees only 1-D vectors.
    Also rewrites `memref.copy` between non-contiguous views into `linalg.copy`, which lowers to loops
    (the compiled module links no memref runtime library).
  }];
  let dependentDialects = ["::mlir::linalg::LinalgDialect", "::mlir::vector::VectorDialect",
                           "::mlir::memref::MemRefDialect", "::mlir::scf::SCFDialect"];
}

def EffcCpuTileAndVectorizePass : Pass<"effc-cpu-tile-and-vectorize", "::mlir::func::FuncOp"> {
  let summary = "Tile contractions for threads and registers, and vectorise them";
  let description = [{
    On linalg on tensors. Each matmul-like `linalg.generic` ((batch..., m, n, k) with operands read as
    `[batch..., M, K]`, `[batch..., K, N]` or `[K, N]`) is tiled in two levels: an `scf.forall` over
    blocks of rows and columns shared out to the runtime's threads, then a register tile of `8 x 32 x 1`
    (16 AVX-512 accumulators) that is vectorised. The accumulator tile is hoisted out of the K loop, so
    the inner loop is one broadcast and two FMAs per accumulator row. The register-tile loops are peeled,
    so full tiles are static and vectorised. The rows left over from the 8-row tiles (all of a decode
    step's rows) are computed one row at a time, as `1 x 32` tiles. A thread block whose width is not a
    multiple of 32 (the last block of N = 50257 or 312) is first split along N into parts whose widths
    are multiples of 32, 16, 8 and 1 (statically when N fits in one block), each tiled with register
    tiles of its own width, so no column is left to scalar loops:
    ```mlir
    // block of width %w (<= 128): [0, %w floordiv 32 * 32) in 8x32 tiles, then 8x16, 8x8, and 8x1 tiles
    %c32 = <8x32 register tiles over tensor.extract_slice %block[0, 0] [%rows, %w32]>
    %c16 = <8x16 register tiles over tensor.extract_slice %c32[0, %w32] [%rows, %w16]>  ...
    ```
    Elementwise tiles at a dynamic edge (the rows of a fused epilogue in such a block) are vectorised
    with masks at their constant upper bound (`max-masked-tile-elements`).

    A panel contraction ((batch..., m, nb, ni, k) with operands `[batch..., M, K]`, `[N/P, K, P]` and
    `[batch..., M, N/P, P]`, as effc-cpu-weight-panels writes it) is tiled into blocks of
    `panel-thread-tile-m` (128) rows of one panel, so that a weight streamed from memory is read once for
    up to 128 rows (a block never takes more rows than a static M); the block's unit `nb` loop is dropped
    (rank-reducing slices), which leaves an ordinary `(m, n, k)` block over the contiguous `[K, P]` panel,
    tiled as above. With P = 32 (the default) each 8 x 32 register tile streams contiguous 128-byte panel
    rows. A GEMV (a static M below `register-tile-m`: a decode step) takes `gemv-panels-per-block` (4)
    panels per block instead, one after the other, each with its own K loop, so that narrow panels do
    not make as many tasks. A panel contraction
    with a deep K (`group-panels-min-k`, 1024) and a static M of at least a block's rows gives each block
    `panels-per-block` (2) panels instead, in GotoBLAS's order: the K blocks loop outside the panels, so
    the block's A slice `[128 x 128]` is read once per K block and reused from cache by every panel, where
    one panel per block reads all of A's `[128 x K]` rows again for each panel. Larger groups save more
    A traffic but leave fewer tasks for the threads.
    ```mlir
    scf.forall (%nb) = (0) to (24) step (2) ... {       // FFN-down 128 x 3072 x 768: 24 panels of 32
      scf.for %kb = %c0 to %c3072 step %c128 ... {      // K blocks
        scf.for %p = %c0 to %c2 step %c1 ... {          // panels: Bp[%nb + %p][%kb : %kb + 128, :]
          <8x32 register tiles of the [128 x 32] block of panel %p>
    ```

    With `fuse-epilogues`, the GEMM's epilogue is fused into its thread blocks: an all-parallel
    `linalg.generic` that is the contraction's only user and reads and writes it through identity maps
    (the activation after a linear layer, or its residual add; the bias is already the accumulator's
    initial value) is tiled into the same `scf.forall` after the block's K loop and split into rows of the
    block, so each block is finished while it is still in cache and the result is not read back by a
    separate pass:
    ```mlir
    %y = scf.forall (%i, %j) ... shared_outs(%acc = %bias_init, %out = %empty) {
      %c = <K loop of register tiles over %acc's block>
      %g = scf.for %r ... { linalg.generic {gelu} ins(row %r of %c) outs(row %r of %out's block) }
      scf.forall.in_parallel { ... insert %g into %out ... }
    }
    ```
  }];
  let options = [
    Option<"registerTileM", "register-tile-m", "int64_t", /*default=*/"8", "Rows of the register tile">,
    Option<"registerTileN", "register-tile-n", "int64_t", /*default=*/"32", "Columns of the register tile">,
    Option<"rowTileN", "row-tile-n", "int64_t", /*default=*/"128",
           "Columns of the one-row tiles of the rows left over from register-tile-m (all rows of a decode "
           "step), where a block's width is a multiple of it: a whole panel row per k, more FMAs in flight">,
    Option<"threadTileN", "thread-tile-n", "int64_t", /*default=*/"128", "Columns of a thread's block">,
    Option<"threadTileM", "thread-tile-m", "int64_t", /*default=*/"64", "Rows of a thread's block">,
    Option<"panelThreadTileM", "panel-thread-tile-m", "int64_t", /*default=*/"128",
           "Rows of a thread's block in a panel contraction: each panel is read once per this many rows, "
           "which matters when the weights stream from memory">,
    Option<"wideThreadTileM", "wide-thread-tile-m", "int64_t", /*default=*/"256",
           "Rows of a thread's block in a contraction with at least wide-column-blocks column blocks">,
    Option<"wideColumnBlocks", "wide-column-blocks", "int64_t", /*default=*/"64",
           "Column blocks (of thread-tile-n) from which a contraction's blocks take wide-thread-tile-m rows, "
           "so that a weight much larger than the caches (an LM head) is streamed fewer times (0: never)">,
    Option<"cacheTileK", "cache-tile-k", "int64_t", /*default=*/"128",
           "Depth of the K blocks a thread's block is split into (0: no K blocking)">,
    Option<"panelsPerBlock", "panels-per-block", "int64_t", /*default=*/"2",
           "Panels that one thread block of a panel contraction with a deep K computes together, K block "
           "by K block, so that its A rows are read once rather than once per panel (1: one panel each)">,
    Option<"gemvPanelsPerBlock", "gemv-panels-per-block", "int64_t", /*default=*/"4",
           "Panels that one thread block of a panel GEMV (a static M below register-tile-m: a decode step) "
           "computes one after the other, so that a weight of many narrow panels is not cut into as many "
           "tasks (1: one panel each)">,
    Option<"groupPanelsMinK", "group-panels-min-k", "int64_t", /*default=*/"1024",
           "Depth K from which a panel contraction's thread blocks take panels-per-block panels (0: never)">,
    Option<"maxMaskedTileElements", "max-masked-tile-elements", "int64_t", /*default=*/"4096",
           "Largest tile (in elements, at the loops' upper bounds) at the edge of a ragged or dynamic "
           "dimension that is vectorised with masks rather than left as scalar loops (0: none)">,
    Option<"fuseEpilogues", "fuse-epilogues", "bool", /*default=*/"true",
           "Compute the elementwise op that is a contraction's only user (activation, residual add) inside "
           "the contraction's thread blocks">,
  ];
  let dependentDialects = ["::mlir::linalg::LinalgDialect", "::mlir::scf::SCFDialect",
                           "::mlir::tensor::TensorDialect", "::mlir::vector::VectorDialect"];
}

def EffcCpuParallelizeElementwisePass : Pass<"effc-cpu-parallelize-elementwise", "::mlir::func::FuncOp"> {
  let summary = "Share elementwise and row-reduction linalg ops out to the runtime's threads";
  let description = [{
    On linalg on tensors, after `effc-cpu-tile-and-vectorize`. Every `linalg.generic` at the top level of
    the function that has at least two loops and starts with a parallel loop (elementwise ops such as bias,
    activation and residual adds; the row reductions of layer norm, RMS norm and softmax; gathers) is tiled
    into an `scf.forall` over its leading parallel loops, which `effc-outline-parallel-loops` later hands to
    the thread pool. The last loop of an all-parallel op (the channels) and every loop from the first
    reduction on stay whole in each task; the innermost tiled loop takes `rows-per-task` rows, the others
    one. Ops with fewer than `min-elements` iterations (static shapes) are left alone. A gather (a body
    with `tensor.extract`, such as an embedding lookup) whose rows have a static width is further split
    into single rows, vectorised: the row's id is read once before the row, so that the table row it
    selects is one contiguous vector load (LLVM's loop vectoriser cannot vectorise an address that depends
    on a value loaded in the loop).

    ```mlir
    %r = linalg.generic {iterator_types = ["parallel", "parallel", "parallel"]}
        ins(%x, %y : tensor<?x?x768xf32>, tensor<?x?x768xf32>) outs(%e : tensor<?x?x768xf32>) {...}
    // becomes
    %r = scf.forall (%b, %s) = (0, 0) to (%B, %S) step (1, 8) shared_outs(%o = %e) -> (tensor<?x?x768xf32>) {
      %t = linalg.generic ... ins(slices of %x, %y) outs(slice of %o) -> tensor<1x?x768xf32>
      scf.forall.in_parallel { tensor.parallel_insert_slice %t into %o[%b, %s, 0] ... }
    }
    ```
  }];
  let options = [
    Option<"rowsPerTask", "rows-per-task", "int64_t", /*default=*/"8",
           "Iterations of the innermost tiled loop per task">,
    Option<"minElements", "min-elements", "int64_t", /*default=*/"16384",
           "Statically shaped ops with fewer iterations in all stay sequential">,
  ];
  let dependentDialects = ["::mlir::arith::ArithDialect", "::mlir::linalg::LinalgDialect",
                           "::mlir::scf::SCFDialect", "::mlir::tensor::TensorDialect",
                           "::mlir::vector::VectorDialect"];
}

def EffcFuseElementwisePass : Pass<"effc-fuse-elementwise"> {
  let summary = "Fuse chains of elementwise linalg ops, but never into contractions or reductions";
  let description = [{
    Fuses an elementwise `linalg.generic` into its elementwise consumer (so a bias add, activation and
    residual add become one loop nest). Unlike upstream's `linalg-fuse-elementwise-ops`, it never fuses
    into a consumer with reduction loops: a layer norm fused into the matmul that reads it would be
    recomputed for every output column, and the matmul would no longer be a contraction the
    vectoriser recognises. Why an elementwise loop nest stays apart from a consumer of another eff op
    is recorded as an `effc-fusion` remark (`effc --report-fusions`).
  }];
  let dependentDialects = ["::mlir::linalg::LinalgDialect"];
}

def EffcInferDimensionGroupsPass : Pass<"effc-infer-dimension-groups", "::mlir::ModuleOp"> {
  let summary = "Find the dynamic input dimensions that the lowered code requires to be equal";
  let description = [{
    On linalg on tensors, before tiling. Every loop of a linalg op indexes its operands' dimensions
    together, so their extents must agree; `tensor.dim`, `tensor.empty`, casts and reshapes carry
    dimensions across ops. A union-find over these facts groups the dynamic dimensions of each public
    function's arguments. The groups are recorded in the module attribute `effc.dimension_groups`
    (`{function = [array<i32: group per dimension, or -1>, ...]}`). The target writes them into the
    module's ABI tables, and the runtime then refuses inputs whose grouped dimensions differ, instead of
    letting compiled code read out of bounds.
  }];
}

def EffcOutlineParallelLoopsPass : Pass<"effc-outline-parallel-loops", "::mlir::ModuleOp"> {
  let summary = "Outline scf.forall bodies into functions run by the runtime's thread pool";
  let description = [{
    On memrefs (after bufferization). Each outermost `scf.forall` becomes a private function
    `@<func>_parallel<N>(%index, captured values...)` that runs one iteration, and a call to the declared
    dispatcher `@effc_parallel_dispatch.<func>_parallel<N>(%count, captured values...)`. The target emitter
    defines the dispatcher: it packs the captured values and calls the host's `parallel_for`
    (runtime/include/effc/runtime/abi.h).
  }];
  let dependentDialects = ["::mlir::func::FuncDialect", "::mlir::arith::ArithDialect"];
}

def EffcPlanActivationArenaPass : Pass<"effc-plan-activation-arena", "::mlir::func::FuncOp"> {
  let summary = "Place a function's intermediate buffers in one arena, planned at compile time";
  let description = [{
    On memrefs, before deallocation is inserted. The buffers a function allocates at its top level and
    does not return (its activations) get lifetimes: from their allocation to the last top-level op that
    uses them or a view of them. Buffers whose lifetimes do not overlap share a slot (greedy interval
    colouring), so memory is reused between layers. Each slot is as large as its largest buffer, sizes may
    be dynamic (computed at the function's entry from the argument shapes), and the slots are laid out
    one after another, 64-byte aligned, in one arena:

    ```mlir
    %arena = memref.alloc(%bytes) {alignment = 64 : i64} : memref<?xi8>
    %h = memref.view %arena[%offset][%rows] : memref<?xi8> to memref<?x768xf32>
    ```

    A call thus makes one allocation for all its activations instead of one per op. Buffers that escape
    (returned, yielded from a loop) or whose dynamic sizes are not computable at the entry keep their own
    allocation.
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect", "::mlir::memref::MemRefDialect"];
}

def EffcPackWeightsPass : Pass<"effc-pack-weights", "::mlir::ModuleOp"> {
  let summary = "Fold layout changes of constant weights at compile time";
  let description = [{
    Folds `linalg.transpose` of a statically shaped constant (a `dense` or `dense_resource` weight) into a
    new constant, so that kernels read weights in the layout they stream (`[K, N]` for linear layers,
    `[E, K, N]` for the stacked weights of `eff.experts`) with no transpose at run time. Any permutation is
    folded; a stack of matrix transposes (`[0, 2, 1]`) is copied in cache-sized blocks. Each transpose it
    packs, or cannot pack (the weight is not a constant), is recorded as an `effc-fusion` remark
    (`effc --report-fusions`).

    ```mlir
    // Before
    %w = arith.constant dense_resource<experts.up> : tensor<8x3072x768xf32>
    %t = linalg.transpose ins(%w : tensor<8x3072x768xf32>) outs(%init : tensor<8x768x3072xf32>)
           permutation = [0, 2, 1]
    // After
    %t = arith.constant dense_resource<experts.up.packed> : tensor<8x768x3072xf32>
    ```

    A transposed weight argument of a private function whose every caller passes a constant, and whose every
    use is the same transpose (the weights of a layer body shared by several layers, eff-outline-layers), is
    packed too: the callers pass the transposed constant and the function takes the packed layout.

    Last, constants of the same type and bytes are made to share one attribute (several functions packing one
    weight, as a decoder's prefill and decode do), so that each weight is stored once in the artifact.
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect", "::mlir::linalg::LinalgDialect",
                           "::mlir::tensor::TensorDialect"];
}

def EffcCpuWeightPanelsPass : Pass<"effc-cpu-weight-panels", "::mlir::ModuleOp"> {
  let summary = "Store the weights of f32 GEMMs as contiguous column panels ([N/P][K][P])";
  let description = [{
    On linalg on tensors, before `effc-pack-weights`. A streaming f32 contraction
    `C[batch..., m, n] += A[batch..., m, k] * B[k, n]` whose `B` is a weight (a constant, its transpose,
    or an argument of a shared layer body that every call site passes a constant) and whose `N` is a
    multiple of `panel-width` (P) larger than P is rewritten to read `B` as panels
    `Bp[N/P][K][P]`: `Bp = transpose(expand_shape(B))`, which `effc-pack-weights` folds into a constant
    holding the packed bytes (through the call sites of shared layer bodies too). A thread block of P
    columns then streams one contiguous `K x P` panel instead of K rows `4 N` bytes apart (each on a new
    page once N >= 1024, where the hardware prefetchers stop following). P defaults to the register tile's
    width (32), so that a register tile reads whole contiguous 128-byte rows: with P = 128, a 32-column tile
    read 128 of every 512 bytes, and BERT-base's GEMMs waited on those loads (1.22x more CPU time for the
    whole model; docs/benchmarks.md). The accumulator's initialisation
    (fill or bias broadcast) and the elementwise op that is the GEMM's only user (its epilogue: bias,
    GELU, residual add) are reshaped with it, so that effc-cpu-tile-and-vectorize still fuses them:
    ```mlir
    // before
    %wt = linalg.transpose ins(%w : tensor<3072x768xf32>) ... permutation = [1, 0]
    %c = linalg.generic {(b, m, n, k): A(b, m, k), B(k, n), C(b, m, n)} ins(%x, %wt) outs(%bias_init)
    %y = linalg.generic {gelu} ins(%c) outs(%empty) : tensor<?x?x3072xf32>
    // after (P = 32)
    %e = tensor.expand_shape %w [[0, 1], [2]] : tensor<3072x768xf32> into tensor<96x32x768xf32>
    %wp = linalg.transpose ins(%e) ... permutation = [0, 2, 1]              // -> tensor<96x768x32xf32>
    %c3 = linalg.generic {(b, m, nb, ni, k): A(b, m, k), Bp(nb, k, ni), C(b, m, nb, ni)}
            ins(%x, %wp) outs(%bias_init3 : tensor<?x?x96x32xf32>)
    %y3 = linalg.generic {gelu} ins(%c3) outs(%empty3)
    %y = tensor.collapse_shape %y3 [[0], [1], [2, 3]] : tensor<?x?x96x32xf32> into tensor<?x?x3072xf32>
    ```
    An N that is not a multiple of P keeps the `[K, N]` layout, unless it spans at least
    `min-padded-panels` panels (the padding is then under 1/`min-padded-panels` of the weight: GPT-2's LM
    head, N = 50257 = 1570 x 32 + 17, which a decode step streams whole) and the weight is a constant and the
    accumulator a fill: the weight is then padded with zero columns to whole panels (`tensor.pad`, folded by
    effc-pack-weights), and the result is the first N columns of the panels' result. A weight argument of a
    layer body that has other uses is left alone (its call sites could not pass one packed constant).
  }];
  let options = [
    Option<"panelWidth", "panel-width", "int64_t", /*default=*/"32",
           "Columns of a panel (P); effc-cpu-tile-and-vectorize's thread-tile-n for panel GEMMs (0: off)">,
    Option<"registerTileN", "register-tile-n", "int64_t", /*default=*/"32",
           "Columns of effc-cpu-tile-and-vectorize's register tile: panel-width must be a multiple of it">,
    Option<"minPaddedPanels", "min-padded-panels", "int64_t", /*default=*/"32",
           "Panels from which an N that is no multiple of panel-width is padded with zero columns to whole "
           "panels (0: never)">,
  ];
  let dependentDialects = ["::mlir::arith::ArithDialect", "::mlir::linalg::LinalgDialect",
                           "::mlir::tensor::TensorDialect"];
}

def EffcRecordMinCallBytesPass : Pass<"effc-record-min-call-bytes", "::mlir::ModuleOp"> {
  let summary = "Record the bytes every call of each public function allocates at least";
  let description = [{
    On memrefs, after effc-plan-activation-arena and before deallocation is inserted. For each public
    function, a lower bound of the peak of the bytes a call holds from the runtime's allocator, whatever
    its input shapes: the largest sum of the sizes of the function's top-level `memref.alloc`s (the
    activation arena, other buffers and the returned outputs) whose lifetimes overlap. A size counts its
    static part: a dynamic extent may be 0 at run time, so a buffer with one only counts the constant
    factor its size computation is bounded by (0 for a plain dynamic extent). A lifetime runs from the
    allocation to the last top-level op using the buffer or a view of it (a returned buffer lives until
    the return). Allocations inside loops or callees, and those the runtime makes to copy out an output
    that aliases a weight or an input, are not counted, so the figure is a bound, never an estimate.

    The figures are recorded in the module attribute `effc.min_call_bytes` (`{function = N : i64}`); the
    target writes them into the module's function table (`effc_abi_function_t.min_call_bytes`), and the
    runtime refuses at load a module whose weights plus its largest figure exceed the memory limit.

    ```mlir
    // Before: a 64-byte buffer dies before the 128-byte output is allocated.
    func.func @main(%x: memref<16xf32>) -> memref<32xf32> {
      %a = memref.alloc() : memref<16xf32>
      ...
      %out = memref.alloc() : memref<32xf32>
      return %out : memref<32xf32>
    }
    // After: the module records the larger of the two.
    module attributes {effc.min_call_bytes = {main = 128 : i64}}
    ```
  }];
}

//===----------------------------------------------------------------------===//
// GPU (NVPTX) passes, used by --target=cuda (docs/gpu.md). Alphabetical.
//===----------------------------------------------------------------------===//

def EffcGpuAsyncLaunchesPass : Pass<"effc-gpu-async-launches", "::mlir::func::FuncOp"> {
  let summary = "Make kernel launches asynchronous on one stream, synchronising only before host accesses";
  let description = [{
    Without async tokens, `gpu-to-llvm` lowers every `gpu.launch_func` to stream create, launch, stream
    synchronize and stream destroy: the host waits for each kernel. This pass threads one
    `!gpu.async.token` (one stream) through each block of host code instead, in program order, so that
    kernels queue behind each other, and inserts a synchronous `gpu.wait` only where the host must see
    what the device wrote or may still use:
    - before an op with memory effects other than allocation (host loads and stores, `memref.copy` that
      stays on the host, calls of CPU micro-kernels, ops with regions that contain such ops or launches),
    - before the block's terminator (so outputs are complete when a function returns, and no token
      crosses a block boundary).
    Contiguous `memref.copy` between identical identity-layout types becomes an asynchronous
    `gpu.memcpy` on the stream. `memref.dealloc` while work is queued moves to just after the next
    synchronisation (the kernels may still read the buffer). Allocations need no synchronisation.
    Unlike upstream `gpu-async-region`, which synchronises before every allocation and deallocation,
    this keeps a model's whole sequence of kernels in flight. A function that already uses async tokens
    is left unchanged.

    With `device-buffers`, a `memref.alloc` whose buffer only kernels touch (every use, through views, is
    a kernel operand, a device copy, `memref.dim` or a `memref.extract_strided_metadata` whose base buffer
    is unused, and it is deallocated in the same block) becomes an asynchronous `gpu.alloc` (device memory,
    not managed memory) and its `memref.dealloc` an asynchronous `gpu.dealloc`, both ordered on the stream.

    An `scf.if` whose branches only launch kernels (and compute their operands), such as the tile-size
    choice of `effc-gpu-gemm-ukernels`, stays on the stream: its launches queue behind the current token,
    and later work keeps that token. The stream runs its work in order, and no token crosses a block
    boundary (`gpu-to-llvm` would take one that does for an event).

    Before:
    ```mlir
    %a = memref.alloc(%n) : memref<?xf32>
    gpu.launch_func @effc_kernels::@k0 blocks in (...) threads in (...) args(%x : memref<?xf32>, %a : memref<?xf32>)
    gpu.launch_func @effc_kernels::@k1 blocks in (...) threads in (...) args(%a : memref<?xf32>, %y : memref<?xf32>)
    memref.dealloc %a : memref<?xf32>
    %v = memref.load %y[%c0] : memref<?xf32>
    ```
    After:
    ```mlir
    %a = memref.alloc(%n) : memref<?xf32>
    %t0 = gpu.wait async
    %t1 = gpu.launch_func async [%t0] @effc_kernels::@k0 ...
    %t2 = gpu.launch_func async [%t1] @effc_kernels::@k1 ...
    gpu.wait [%t2]
    memref.dealloc %a : memref<?xf32>
    %v = memref.load %y[%c0] : memref<?xf32>
    ```
    (with `device-buffers`, `%a` becomes `%a, %t = gpu.alloc async [...]` and its deallocation
    `gpu.dealloc async [...]` before the wait).
  }];
  let options = [
    Option<"deviceBuffers", "device-buffers", "bool", /*default=*/"true",
           "Allocate buffers that only kernels touch in device memory, ordered on the stream">,
  ];
  let dependentDialects = ["::mlir::gpu::GPUDialect"];
}

def EffcGpuAttentionUkernelsPass : Pass<"effc-gpu-attention-ukernels", "::mlir::ModuleOp"> {
  let summary = "Launch the fused device attention micro-kernel for calls of effc_uk_attention_f32";
  let description = [{
    convert-eff-to-linalg lowers f32 `eff.attention` (without head_mask or bias) to one call of the CPU
    micro-kernel `effc_uk_attention_f32`. For --target=cuda this pass replaces each such call (on buffers,
    outside any launch) by one `gpu.launch` whose body calls a device kernel of ukernels/cuda/attention.cu with
    raw pointers, strides and sizes: `effc_cuda_uk_attention_decode_f32` (256 threads, one block per batch x
    head x query row, the warps splitting the keys) when the query has at most `decode-max-rows` rows,
    `effc_cuda_uk_attention_f32` (128 threads, one block per batch x head x 16 query rows, key tiles in shared
    memory, online softmax) otherwise, or with `precision=bf16` (`f16`) the tensor-core kernel
    `effc_cuda_uk_attention_mma_bf16_d64` (`_f16_`; `_d128` for head sizes above 64): 128 threads, one block
    per batch x head x 64 query rows, Q·Kᵀ and P·V on mma.sync with the operands and the probabilities
    rounded to the format, softmax state in f32. Grid and block sizes are selected on the host and the kernel in the
    body (an `scf.if` on the run-time length inside the launch, none around it). Scores never reach global
    memory.
    The head size must be static and at most 128 (the pipeline's convert-eff-to-linalg
    `fused-attention-max-head-dim=128` keeps other attention on the linalg lowering); a call that does not
    qualify is an error, never a host call left over device memory.

    Before:
    ```mlir
    call @effc_uk_attention_f32(%q, %k, %v, %k, %v, %mask, %c4_i64, %c4_i64, %scale, %c1_i64, %c1_i64, %c0_i64,
                                %out) : (memref<?x?x?xf32, strided<[?, ?, ?], offset: ?>>, ...) -> ()
    ```
    After:
    ```mlir
    %threads = arith.select %fewRows, %c256, %c128 : index
    gpu.launch blocks(...) in (%gx = %batchTimesHeads, %gy = %rowsOrRowBlocks, %gz = %c1)
               threads(...) in (%tx = %threads, %ty = %c1, %tz = %c1) {
      scf.if %nonEmpty {
        scf.if %fewRows {
          llvm.call @effc_cuda_uk_attention_decode_f32(...) : (...) -> ()
        } else {
          llvm.call @effc_cuda_uk_attention_f32(%s, %l, %p, %h, %hkv, %dh, %pq, %qs0, %qs1, %qs2, ...,
                                                %scale, %c1_i64, %c1_i64) : (...) -> ()
        }
      }
      gpu.terminator
    }
    ```
  }];
  let options = [
    Option<"decodeMaxRows", "decode-max-rows", "int64_t", /*default=*/"4",
           "Launch the decode kernel (one block per query row) for at most this many query rows">,
    Option<"precision", "precision", "std::string", /*default=*/"\"f32\"",
           "Products of prefill attention: f32 (exact), bf16 or f16 (tensor cores)">,
  ];
  let dependentDialects = ["::mlir::arith::ArithDialect", "::mlir::gpu::GPUDialect",
                           "::mlir::LLVM::LLVMDialect", "::mlir::memref::MemRefDialect", "::mlir::scf::SCFDialect"];
}

def EffcGpuGemmUkernelsPass : Pass<"effc-gpu-gemm-ukernels", "::mlir::ModuleOp"> {
  let summary = "Launch the device GEMM micro-kernel for f32 contractions on memrefs";
  let description = [{
    Replaces every `linalg.generic` that is an f32 matrix product `C[..., m, n] += A[..., m, k] · B[..., k, n]`
    (a multiply-add body; the contiguous dimension of each operand is k, n and n) by a `gpu.launch` of 256 threads per
    block whose body calls the tiled device micro-kernel `effc_cuda_uk_sgemm_<BM>x<BN>` (ukernels/cuda/gemm.cu) with
    raw pointers, sizes and leading dimensions. Loop dimensions of A and C that B does not index (the rows of a linear
    layer's [B, S, K] input) form the M of one GEMM when both operands have the identity layout; the remaining outer
    dimensions (a batched matmul's batch and heads) are spread over block z, whose index the body turns into pointer
    offsets. Up to `max-gemv-rows` rows of A (a decode step) take `effc_cuda_uk_sgemv_f32` (32 columns of C and all of
    K per block, so that N / 32 blocks stream B once); otherwise the 128 x 128 tile is used when it yields at least
    `min-large-tiles` blocks, the 64 x 64 tile otherwise (`scf.if`s on the run-time sizes). With `precision=bf16` or
    `f16` the tiles are the tensor-core GEMMs of ukernels/cuda/mma_gemm.cu, and with `wgmma` (sm_90a) the large tile
    is the warpgroup GEMM of ukernels/cuda/wgmma_gemm.cu. Other linalg ops are left to the generic
    one-thread-per-element kernels.

    Before:
    ```mlir
    linalg.generic {indexing_maps = [(d0, d1, d2) -> (d0, d2), (d0, d1, d2) -> (d2, d1), (d0, d1, d2) -> (d0, d1)],
                    iterator_types = ["parallel", "parallel", "reduction"]}
        ins(%a, %b : memref<?x64xf32>, memref<64x32xf32>) outs(%c : memref<?x32xf32>) {
      ^bb0(%x: f32, %y: f32, %acc: f32):
        %p = arith.mulf %x, %y : f32
        %s = arith.addf %acc, %p : f32
        linalg.yield %s : f32
    }
    ```
    After (one of the three launches):
    ```mlir
    gpu.launch blocks(...) in (%gx = %tilesN, %gy = %tilesM, %gz = %c1) threads(...) in (%tx = %c256, ...) {
      %pa = ... (aligned pointer of %a plus its offset, as !llvm.ptr)
      llvm.call @effc_cuda_uk_sgemm_64x64(%m, %c32, %c64, %pa, %c64, %pb, %c32, %pc, %c32) : (...) -> ()
      gpu.terminator
    }
    ```
  }];
  let options = [
    Option<"minLargeTiles", "min-large-tiles", "int64_t", /*default=*/"128",
           "Fewest 128 x 128 tiles for which the large tile is used (about the number of SMs)">,
    Option<"wgmma", "wgmma", "bool", /*default=*/"false",
           "With precision=bf16 or f16, take the warpgroup GEMM effc_cuda_uk_{bf16,f16}_sgemm_wgmma_128x128 "
           "(ukernels/cuda/wgmma_gemm.cu) as the large tile: sm_90a only (the pipeline sets it for that target)">,
    Option<"maxGemvRows", "max-gemv-rows", "int64_t", /*default=*/"8",
           "Most rows of A for which effc_cuda_uk_sgemv_f32 (32 columns and all of K per block, exact f32) is "
           "launched instead of a tile (0 to 8)">,
    Option<"precision", "precision", "std::string", /*default=*/"\"f32\"",
           "f32 (default: exact f32 FMAs), bf16 or f16 (tensor cores: operands rounded to bf16 or f16, f32 "
           "accumulation; calls effc_cuda_uk_{bf16,f16}_sgemm_<BM>x<BN> of ukernels/cuda/mma_gemm.cu instead)">,
  ];
  let dependentDialects = ["::mlir::arith::ArithDialect", "::mlir::gpu::GPUDialect",
                           "::mlir::LLVM::LLVMDialect", "::mlir::memref::MemRefDialect", "::mlir::scf::SCFDialect"];
}

def EffcGpuMapParallelLoopsPass : Pass<"effc-gpu-map-parallel-loops", "::mlir::func::FuncOp"> {
  let summary = "Tile outermost scf.parallel loops into blocks of threads and map them to the GPU";
  let description = [{
    Splits every outermost `scf.parallel` of a function into a loop over tiles and a loop inside a tile
    (`scf::tileParallelLoop`), then annotates both with `#gpu.loop_dim_map` so that
    `convert-parallel-loops-to-gpu` turns the nest into a `gpu.launch`. A tile holds `block-size` threads:
    the innermost dimension (contiguous in memory, so accesses coalesce) gets up to `block-size` of them,
    the next one the rest. The innermost three tile loops become block x, y and z, the innermost two
    in-tile loops threads x and y; other dimensions run sequentially inside the kernel. Loops nested in
    the body (reductions) stay sequential in each thread.

    Before (`%n` dynamic):
    ```mlir
    scf.parallel (%i, %j) = (%c0, %c0) to (%n, %c64) step (%c1, %c1) {
      ...
    }
    ```
    After (block-size 256):
    ```mlir
    scf.parallel (%i, %j) = (%c0, %c0) to (%n, %c64) step (%c4, %c64) {
      %m = affine.min affine_map<(d0)[s0] -> (4, s0 - d0)>(%i)[%n]
      scf.parallel (%ti, %tj) = (%c0, %c0) to (%m, %c64) step (%c1, %c1) {
        ...
      } {mapping = [#gpu.loop_dim_map<processor = thread_y, ...>, #gpu.loop_dim_map<processor = thread_x, ...>]}
    } {mapping = [#gpu.loop_dim_map<processor = block_y, ...>, #gpu.loop_dim_map<processor = block_x, ...>]}
    ```
  }];
  let options = [
    Option<"blockSize", "block-size", "unsigned", /*default=*/"256",
           "Threads per block (a power of two from 32 to 1024)">,
  ];
  let dependentDialects = ["::mlir::affine::AffineDialect", "::mlir::arith::ArithDialect",
                           "::mlir::gpu::GPUDialect", "::mlir::scf::SCFDialect"];
}

def EffcStridedCopiesToLinalgPass : Pass<"effc-strided-copies-to-linalg"> {
  let summary = "Rewrite memref.copy between non-contiguous views as linalg.copy";
  let description = [{
    A memref.copy whose source or target is not contiguous lowers to a call of the MLIR runtime
    library's `memrefCopy`, which effc does not link. As `linalg.copy` it becomes loops (CPU) or a kernel
    (CUDA). Contiguous copies stay (they lower to memcpy); a copy of a view onto itself is erased.

    Before: `memref.copy %a, %b : memref<2x3xf32> to memref<2x3xf32, strided<[8, 1], offset: ?>>`
    After:  `linalg.copy ins(%a : memref<2x3xf32>) outs(%b : memref<2x3xf32, strided<[8, 1], offset: ?>>)`
  }];
  let dependentDialects = ["::mlir::linalg::LinalgDialect"];
}

def EffcGpuMarkDeviceWeightsPass : Pass<"effc-gpu-mark-device-weights", "::mlir::ModuleOp"> {
  let summary = "Give the weights that kernels read a copy that the CUDA target serves from device memory";
  let description = [{
    Kernels cannot read a weight embedded in the shared object's host memory, and host code (CPU
    micro-kernels, copies, routing loops) cannot read device memory. For each constant `memref.global`
    that a kernel reads (a value used inside a `gpu.launch`, or a `gpu.launch_func` operand, that is a view
    of the global), this pass adds a copy named `effc_gpu_weight.<name>` and rebuilds the kernel's operand
    from the copy just before the launch (the get_global and its view ops). The CUDA target
    (lib/Target/Cuda.cpp) routes each use of an `effc_gpu_weight.*` global through the runtime's
    `constant` GPU service, which copies the weight to device memory once and caches it. Host uses keep
    the original; an original left without uses is erased.

    Before:
    ```mlir
    memref.global "private" constant @w : memref<4xf32> = dense<1.0>
    %w = memref.get_global @w : memref<4xf32>
    gpu.launch ... { ... memref.load %w[%i] ... }
    func.call @effc_uk_host(%w) : (memref<4xf32>) -> ()
    ```
    After:
    ```mlir
    memref.global "private" constant @w : memref<4xf32> = dense<1.0>
    memref.global "private" constant @effc_gpu_weight.w : memref<4xf32> = dense<1.0>
    %w = memref.get_global @w : memref<4xf32>
    %d = memref.get_global @effc_gpu_weight.w : memref<4xf32>
    gpu.launch ... { ... memref.load %d[%i] ... }
    func.call @effc_uk_host(%w) : (memref<4xf32>) -> ()
    ```
  }];
  let dependentDialects = ["::mlir::memref::MemRefDialect"];
}

def EffcGpuMergeKernelModulesPass : Pass<"effc-gpu-merge-kernel-modules", "::mlir::ModuleOp"> {
  let summary = "Merge the gpu.modules made by gpu-kernel-outlining into one";
  let description = [{
    `gpu-kernel-outlining` puts every kernel in its own `gpu.module`, which would become one PTX image, one
    driver module load and one `ptxas` run per kernel. This pass moves all kernels into a single
    `gpu.module @effc_kernels`, each renamed after the module it came from, and retargets the
    `gpu.launch_func` ops.

    Before:
    ```mlir
    gpu.module @main_kernel { gpu.func @main_kernel(...) kernel {...} }
    gpu.module @main_kernel_0 { gpu.func @main_kernel(...) kernel {...} }
    gpu.launch_func @main_kernel_0::@main_kernel ...
    ```
    After:
    ```mlir
    gpu.module @effc_kernels {
      gpu.func @main_kernel(...) kernel {...}
      gpu.func @main_kernel_0(...) kernel {...}
    }
    gpu.launch_func @effc_kernels::@main_kernel_0 ...
    ```
  }];
  let dependentDialects = ["::mlir::gpu::GPUDialect"];
}

def EffcGpuModuleToBinaryPass : Pass<"effc-gpu-module-to-binary", "::mlir::ModuleOp"> {
  let summary = "Serialise gpu.modules like gpu-module-to-binary, linking effc's device micro-kernels";
  let description = [{
    `gpu-module-to-binary` with the embedded NVPTX bitcode of ukernels/cuda/*.cu (built with effc) among the
    libraries linked into each module's LLVM IR before optimisation, when a `gpu.module` declares a
    function named `effc_cuda_uk_*`. Upstream's `#nvvm.target` `link` option only takes file paths; this
    pass passes the bitcode in memory (a blob attribute in `gpu::TargetOptions`), so effc needs no files
    next to it. Only the micro-kernels a module calls are linked (and then internalised and inlined).

    Before: `gpu.module @effc_kernels [#nvvm.target<chip = "sm_90">] { llvm.func @effc_cuda_uk_sgemm_64x64(...) ... }`
    After:  `gpu.binary @effc_kernels [#gpu.object<#nvvm.target<chip = "sm_90">, "...PTX or cubin...">]`
  }];
  let options = [
    Option<"toolkitPath", "toolkit", "std::string", /*default=*/"\"\"",
           "CUDA toolkit root (for ptxas and fatbinary)">,
    Option<"compilationTarget", "format", "std::string", /*default=*/"\"fatbin\"",
           "What gpu.binary holds: isa (PTX), bin (cubin) or fatbin">,
  ];
}

def EffcGpuBf16LinearUkernelsPass : Pass<"effc-gpu-bf16-linear-ukernels", "::mlir::ModuleOp"> {
  let summary = "Launch the bf16 tensor-core GEMM for bf16 linear layers instead of the CPU micro-kernel";
  let description = [{
    Replaces every call of the CPU micro-kernel `effc_uk_quantized_linear_bf16` (what `eff.quantized_linear`
    with the bf16 scheme lowers to) by a `gpu.launch` of 256 threads per block whose body calls the
    tensor-core GEMM `effc_cuda_uk_bf16_gemm_<BM>x<BN>` (ukernels/cuda/mma_gemm.cu: mma.sync m16n8k16 bf16
    with f32 accumulation, ldmatrix, cp.async), which reads eff-quantize's bf16 weight packing as it is and
    adds the bias in its epilogue. The activation x [B, S, K] gives one GEMM of S rows per B, over block z;
    the result y [B, S, N] is written, not accumulated. The 128 x 128 tile is used when it yields at least
    `min-large-tiles` blocks, the 64 x 64 tile otherwise (an `scf.if` on the run-time sizes). The CPU
    kernel's declaration is erased once unused.

    Before:
    ```mlir
    func.call @effc_uk_quantized_linear_bf16(%x, %w, %bias, %has_bias, %y)
        : (memref<?x?x?xf32, strided<[?, ?, ?], offset: ?>>, memref<?xbf16, strided<[?], offset: ?>>,
           memref<?xf32, strided<[?], offset: ?>>, i64, memref<?x?x?xf32, strided<[?, ?, ?], offset: ?>>) -> ()
    ```
    After (one of the two launches):
    ```mlir
    gpu.launch blocks(...) in (%gx = %tilesN, %gy = %tilesM, %gz = %batch) threads(...) in (%tx = %c256, ...) {
      llvm.call @effc_cuda_uk_bf16_gemm_128x128(%m, %n, %k, %px, %lda, %ak, %pw, %pbias, %py, %ldy) : (...) -> ()
      gpu.terminator
    }
    ```
  }];
  let options = [
    Option<"minLargeTiles", "min-large-tiles", "int64_t", /*default=*/"128",
           "Fewest 128 x 128 tiles for which the large tile is used (about the number of SMs)">,
  ];
  let dependentDialects = ["::mlir::arith::ArithDialect", "::mlir::gpu::GPUDialect",
                           "::mlir::LLVM::LLVMDialect", "::mlir::memref::MemRefDialect", "::mlir::scf::SCFDialect"];
}

def EffcGpuQuantizedLinearsPass : Pass<"effc-gpu-quantized-linears", "::mlir::ModuleOp"> {
  let summary = "Launch the device micro-kernels for calls of the CPU's int8, int4 and LUT quantized-linear kernels";
  let description = [{
    `--target=cuda` lowers `eff.quantized_linear` (int8) as the CPU does, to a call of
    `effc_uk_quantized_linear_int8` (ukernels/quantized_gemm.c) on memrefs, which would run on the host. This
    pass replaces each such call by device launches of ukernels/cuda/quantized_gemm.cu on the same operands
    (the packed weights are read in the CPU's layout):

    1. `effc_cuda_uk_quantize_rows_s8`, one block per activation row: the row quantized exactly as on the
       CPU into a scratch buffer of signed bytes [M][round_up(K, 32)], with the row's scale and zero-point
       correction;
    2. `effc_cuda_uk_qgemv_s8` (dp4a) when M is at most `max-gemv-rows`, else
       `effc_cuda_uk_qgemm_s8_128x128` (int8 tensor cores, mma.sync m16n8k32), an `scf.if` on the run-time
       M; both apply the scale and bias epilogue, so the outputs equal the CPU build's.

    Nothing is launched for an empty input or output. The scratch buffers are allocated around the
    launches (effc-gpu-async-launches makes them stream-ordered device memory).

    int4 (`effc_uk_quantized_linear_int4`) and LUT (`effc_uk_quantized_linear_lut`, binary-coding sign bits
    and α scales) layers launch kernels that dequantise each weight in registers and multiply in f32:
    `effc_cuda_uk_qgemm_{int4,lut}_32x64`, or for at most `max-gemv-rows` rows `..._qgemv_{int4,lut}_8x256`.
    LUT makes a single launch whose body branches on the host's choice, as effc-gpu-sparse-linears does.

    Before:
    ```mlir
    call @effc_uk_quantized_linear_int8(%x, %w, %colsum, %scales, %bias, %has_bias, %static_scale,
        %static_zero, %y) : (memref<?x?x?xf32, strided<...>>, memref<?xi8, ...>, ..., memref<?x?x?xf32, ...>) -> ()
    ```
    After:
    ```mlir
    scf.if %nonempty {
      %q = memref.alloc(%m, %ldq) : memref<?x?xi8>
      ...
      gpu.launch blocks(...) in (%gx = %m, ...) threads(...) in (%tx = %c256, ...) {
        llvm.call @effc_cuda_uk_quantize_rows_s8(...)
        gpu.terminator
      }
      scf.if %few_rows {
        gpu.launch ... { llvm.call @effc_cuda_uk_qgemv_s8(...) ... }
      } else {
        gpu.launch ... { llvm.call @effc_cuda_uk_qgemm_s8_128x128(...) ... }
      }
      memref.dealloc %q : memref<?x?xi8>
      ...
    }
    ```
  }];
  let options = [
    Option<"maxGemvRows", "max-gemv-rows", "int64_t", /*default=*/"8",
           "Most activation rows for which the dp4a GEMV is launched instead of the tensor-core GEMM">,
  ];
  let dependentDialects = ["::mlir::arith::ArithDialect", "::mlir::gpu::GPUDialect",
                           "::mlir::LLVM::LLVMDialect", "::mlir::memref::MemRefDialect", "::mlir::scf::SCFDialect"];
}

def EffcGpuSparseLinearsPass : Pass<"effc-gpu-sparse-linears", "::mlir::ModuleOp"> {
  let summary = "Launch the device N:M sparse micro-kernels for calls of the CPU's N:M sparse-linear kernels";
  let description = [{
    `--target=cuda` lowers `eff.sparse_linear nm` as the CPU does, to a call of `effc_uk_sparse_nm_linear`
    (f32 values) or `_i8` (ukernels/sparse_gemm.c) on memrefs, which would run on the host. This pass
    replaces each such call by one device launch of ukernels/cuda/sparse_gemm.cu on the same operands (values
    and in-group indices read as eff-sparsify stores them; only the stored weights are read). Its body calls

    - `effc_cuda_uk_sparse_nm_gemv_f32` (a warp per output row, up to 8 tokens per block) when the tokens
      number at most `max-gemv-rows`;
    - otherwise `effc_cuda_uk_sparse_nm_gemm_f32` (64 x 64 tiles, exact f32, any N:M), or with
      `precision=bf16` (`f16`) and a constant 2:4 pattern the sparse tensor-core tiles
      `effc_cuda_uk_sparse24_bf16_gemm_<BM>x<BN>` (`_f16_`; mma.sp m16n8k32, 16-bit products, f32 sums; the
      128 x 128 tile when it yields at least `min-large-tiles` blocks, else 64 x 64).

    The host computes the choice and the chosen kernel's grid (at least one block: the kernels guard every
    token and output); the body branches on the same values. One launch, not launches under a host
    `scf.if`, keeps the layer on the stream wherever it stands (effc-gpu-async-launches).

    int8 N:4 layers (calls of `effc_uk_sparse_nm_linear_i8`) become the dense int8 path's row quantizer
    `effc_cuda_uk_quantize_rows_s8` into scratch (allocated around an `scf.if` that holds only the two
    launches, as effc-gpu-quantized-linears does) and `effc_cuda_uk_sparse_nm_i8_gemm`, whose exact integer
    sums and epilogue give the CPU kernel's results. CSR layers (`effc_uk_sparse_csr_linear`) become one launch
    of `effc_cuda_uk_sparse_csr_f32`, the GEMV's warp per output row over the row's `row_ptr` range.

    Before:
    ```mlir
    call @effc_uk_sparse_nm_linear(%x, %values, %indices, %bias, %n, %m, %y)
        : (memref<?x?x?xf32, strided<...>>, memref<?x?xf32, ...>, memref<?x?xi8, ...>, memref<?xf32, ...>,
           i64, i64, memref<?x?x?xf32, ...>) -> ()
    ```
    After:
    ```mlir
    %few = arith.cmpi sle, %tokens, %c8 : index
    %gx = arith.maxui (arith.select %few, %gemv_x, %tile_x), %c1 : index
    ...
    gpu.launch blocks(...) in (%bx = %gx, %by = %gy, %bz = %c1) threads(...) in (%tx = %c256, ...) {
      scf.if %few {
        llvm.call @effc_cuda_uk_sparse_nm_gemv_f32(...) : (...) -> ()
      } else {
        llvm.call @effc_cuda_uk_sparse_nm_gemm_f32(...) : (...) -> ()
      }
      gpu.terminator
    }
    ```
  }];
  let options = [
    Option<"precision", "precision", "std::string", /*default=*/"\"f32\"",
           "Products of 2:4 layers: f32 (exact), bf16 or f16 (sparse tensor cores)">,
    Option<"maxGemvRows", "max-gemv-rows", "int64_t", /*default=*/"8",
           "Most tokens for which the warp-per-row GEMV is launched instead of a tiled kernel">,
    Option<"minLargeTiles", "min-large-tiles", "int64_t", /*default=*/"128",
           "Fewest 128 x 128 tensor-core tiles for which the large tile is used (about the number of SMs)">,
  ];
  let dependentDialects = ["::mlir::arith::ArithDialect", "::mlir::gpu::GPUDialect",
                           "::mlir::LLVM::LLVMDialect", "::mlir::memref::MemRefDialect", "::mlir::scf::SCFDialect"];
}

def EffcGpuRowReductionsPass : Pass<"effc-gpu-row-reductions", "::mlir::ModuleOp"> {
  let summary = "Reduce each row of a linalg reduction with one warp and warp shuffles";
  let description = [{
    Replaces every `linalg.generic` on memrefs whose only reduction loop is the innermost one and whose
    body is `yield combine(%acc, f(inputs))` (combine: `arith.addf`, `maximumf`, `maxnumf`, `minimumf`,
    `minnumf` on f32; `f` not reading `%acc`) by a `gpu.launch` with one warp per output element (a row):
    the 32 lanes stride over the row (consecutive lanes read consecutive elements, so the loads coalesce),
    each combines its elements starting from the combiner's neutral value, `gpu.shuffle xor` combines the
    lanes' partials, and lane 0 combines the result into the output. These are layer norm's mean and
    variance, RMS norm's sum of squares and softmax's maximum and sum: without this pass each row is one
    thread's sequential loop over strided memory, and a [tokens, hidden] reduction has only `tokens`
    threads. Other generics are left alone.

    Before:
    ```mlir
    linalg.generic {indexing_maps = [(d0, d1) -> (d0, d1), (d0, d1) -> (d0)],
                    iterator_types = ["parallel", "reduction"]}
        ins(%x : memref<?x768xf32>) outs(%sum : memref<?xf32>) {
      ^bb0(%in: f32, %acc: f32):
        %s = arith.addf %in, %acc : f32
        linalg.yield %s : f32
    }
    ```
    After:
    ```mlir
    gpu.launch blocks(...) in (%gx = %blocks, ...) threads(%lane, %warp, %z) in (%c32, %warps, %c1) {
      %row = ... (block x * warps-per-block + %warp; rows past the end do nothing)
      %part = scf.for %k = %lane to %c768 step %c32 iter_args(%p = %zero) -> (f32) { ... arith.addf ... }
      %r0, %ok0 = gpu.shuffle xor %part, %c16, %c32 : f32
      ... (offsets 8, 4, 2, 1)
      scf.if (lane 0) { store %acc + %total into %sum[%row] }
    }
    ```
  }];
  let options = [
    Option<"warpsPerBlock", "warps-per-block", "int64_t", /*default=*/"8",
           "Warps (rows) per block, 1 to 32">,
  ];
  let dependentDialects = ["::mlir::arith::ArithDialect", "::mlir::gpu::GPUDialect",
                           "::mlir::memref::MemRefDialect", "::mlir::scf::SCFDialect"];
}

#endif // EFFC_CODEGEN_PASSES_TD
