// RUN: effc-opt %s -split-input-file --effc-cpu-parallelize-elementwise --cse | FileCheck %s
// RUN: effc-opt %s -split-input-file '--effc-cpu-parallelize-elementwise=rows-per-task=2 min-elements=1' --cse | FileCheck %s --check-prefix=OPTS

// effc-cpu-parallelize-elementwise (lib/Codegen/ParallelizeElementwise.cpp): generics outside contractions
// become scf.forall thread tiles over their leading parallel loops, whole rows per task.

// An elementwise add on [B, S, 768]: tiles of 1 x 8 rows, the channels whole.
// CHECK-DAG: #[[$MIN:.+]] = affine_map<(d0)[s0] -> (-d0 + s0, 8)>
// CHECK-LABEL: func.func @residual_add(
// CHECK-SAME:      %[[X:.+]]: tensor<?x?x768xf32>, %[[Y:.+]]: tensor<?x?x768xf32>)
// CHECK:         %[[B:.+]] = tensor.dim %[[X]], %{{.+}}
// CHECK:         %[[S:.+]] = tensor.dim %[[X]], %{{.+}}
// CHECK:         %[[E:.+]] = tensor.empty(%[[B]], %[[S]])
// CHECK:         %[[R:.+]] = scf.forall (%[[I:.+]], %[[J:.+]]) = (0, 0) to (%[[B]], %[[S]]) step (1, 8) shared_outs(%[[O:.+]] = %[[E]]) -> (tensor<?x?x768xf32>) {
// CHECK:           %[[ROWS:.+]] = affine.min #[[$MIN]](%[[J]])[%[[S]]]
// CHECK:           %[[XS:.+]] = tensor.extract_slice %[[X]][%[[I]], %[[J]], 0] [1, %[[ROWS]], 768] [1, 1, 1]
// CHECK:           %[[YS:.+]] = tensor.extract_slice %[[Y]][%[[I]], %[[J]], 0] [1, %[[ROWS]], 768] [1, 1, 1]
// CHECK:           %[[OS:.+]] = tensor.extract_slice %[[O]][%[[I]], %[[J]], 0] [1, %[[ROWS]], 768] [1, 1, 1]
// CHECK:           %[[T:.+]] = linalg.generic {{.*}} ins(%[[XS]], %[[YS]] : tensor<1x?x768xf32>, tensor<1x?x768xf32>) outs(%[[OS]] : tensor<1x?x768xf32>)
// CHECK:             arith.addf
// CHECK:           scf.forall.in_parallel {
// CHECK:             tensor.parallel_insert_slice %[[T]] into %[[O]][%[[I]], %[[J]], 0] [1, %[[ROWS]], 768] [1, 1, 1]
// CHECK:         return %[[R]]
// OPTS-LABEL: func.func @residual_add(
// OPTS:         scf.forall ({{.+}}) = (0, 0) to ({{.+}}) step (1, 2)
#id3 = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
func.func @residual_add(%x: tensor<?x?x768xf32>, %y: tensor<?x?x768xf32>) -> tensor<?x?x768xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %b = tensor.dim %x, %c0 : tensor<?x?x768xf32>
  %s = tensor.dim %x, %c1 : tensor<?x?x768xf32>
  %e = tensor.empty(%b, %s) : tensor<?x?x768xf32>
  %r = linalg.generic {indexing_maps = [#id3, #id3, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%x, %y : tensor<?x?x768xf32>, tensor<?x?x768xf32>) outs(%e : tensor<?x?x768xf32>) {
  ^bb0(%a: f32, %c: f32, %o: f32):
    %z = arith.addf %a, %c : f32
    linalg.yield %z : f32
  } -> tensor<?x?x768xf32>
  return %r : tensor<?x?x768xf32>
}

// -----

// A row reduction (the mean of a layer norm) on a static [64, 1024] matrix: tiles of 8 rows, each reducing
// whole rows; the fill is not a generic and stays as it is.
// CHECK-LABEL: func.func @row_sum(
// CHECK:         %[[FILL:.+]] = linalg.fill
// CHECK:         scf.forall (%[[I:.+]]) = (0) to (64) step (8) shared_outs(%[[O:.+]] = %[[FILL]]) -> (tensor<64xf32>) {
// CHECK:           %[[XS:.+]] = tensor.extract_slice %{{.+}}[%{{.+}}, 0] [8, 1024] [1, 1]
// CHECK:           linalg.generic {{.*}} iterator_types = ["parallel", "reduction"]} ins(%[[XS]] : tensor<8x1024xf32>) outs(%{{.+}} : tensor<8xf32>)
// CHECK:           scf.forall.in_parallel
func.func @row_sum(%x: tensor<64x1024xf32>) -> tensor<64xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<64xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<64xf32>) -> tensor<64xf32>
  %r = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0)>],
                       iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<64x1024xf32>) outs(%f : tensor<64xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %z = arith.addf %a, %acc : f32
    linalg.yield %z : f32
  } -> tensor<64xf32>
  return %r : tensor<64xf32>
}

// -----

// Left alone: a small static op (under min-elements = 16384 iterations; OPTS lowers the limit to 1), a 1-D
// op, a generic inside a loop.
// CHECK-LABEL: func.func @left_alone(
// CHECK-NOT:     scf.forall
// OPTS-LABEL: func.func @left_alone(
// OPTS:         scf.forall ({{.+}}) = (0) to (16) step (2) shared_outs
// OPTS:           scf.forall.in_parallel
// OPTS:         linalg.generic {{.*}} iterator_types = ["parallel"]} ins(%{{.+}} : tensor<4096xf32>)
// OPTS:         scf.for
// OPTS-NOT:       scf.forall
func.func @left_alone(%x: tensor<16x16xf32>, %v: tensor<4096xf32>, %n: index) -> (tensor<16x16xf32>, tensor<4096xf32>) {
  %e = tensor.empty() : tensor<16x16xf32>
  %r = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>],
                       iterator_types = ["parallel", "parallel"]}
      ins(%x : tensor<16x16xf32>) outs(%e : tensor<16x16xf32>) {
  ^bb0(%a: f32, %o: f32):
    %z = arith.mulf %a, %a : f32
    linalg.yield %z : f32
  } -> tensor<16x16xf32>
  %ev = tensor.empty() : tensor<4096xf32>
  %rv = linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>],
                        iterator_types = ["parallel"]}
      ins(%v : tensor<4096xf32>) outs(%ev : tensor<4096xf32>) {
  ^bb0(%a: f32, %o: f32):
    %z = arith.mulf %a, %a : f32
    linalg.yield %z : f32
  } -> tensor<4096xf32>
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %l = scf.for %i = %c0 to %n step %c1 iter_args(%acc = %r) -> tensor<16x16xf32> {
    %t = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>],
                         iterator_types = ["parallel", "parallel"]}
        ins(%acc : tensor<16x16xf32>) outs(%e : tensor<16x16xf32>) {
    ^bb0(%a: f32, %o: f32):
      %z = arith.addf %a, %a : f32
      linalg.yield %z : f32
    } -> tensor<16x16xf32>
    scf.yield %t : tensor<16x16xf32>
  }
  return %l, %rv : tensor<16x16xf32>, tensor<4096xf32>
}

// -----

// An embedding gather plus a position table, [B, S] ids into a [V, 312] table: thread tiles as above, then
// one row per iteration of scf.for loops, vectorised. The row's id is read once (tensor.extract) before the
// row, so that both tables are read with contiguous vector loads, not vector.gather.
// CHECK-LABEL: func.func @embedding_rows(
// OPTS-LABEL: func.func @embedding_rows(
// CHECK-SAME:      %[[IDS:.+]]: tensor<?x?xi64>, %[[TABLE:.+]]: tensor<1000x312xf32>, %[[POS:.+]]: tensor<512x312xf32>)
// CHECK:         scf.forall ({{.+}}) = (0, 0) to ({{.+}}) step (1, 8) shared_outs
// CHECK:           scf.for %[[I:.+]] =
// CHECK:             scf.for %[[J:.+]] =
// CHECK:               %[[ID:.+]] = tensor.extract %{{.+}}[%{{.+}}, %{{.+}}] : tensor<1x1xi64>
// CHECK:               %[[ROW:.+]] = arith.index_cast %[[ID]] : i64 to index
// CHECK:               vector.transfer_read %[[TABLE]][%[[ROW]], %{{.+}}], {{.*}} : tensor<1000x312xf32>, vector<1x1x312xf32>
// CHECK:               vector.transfer_read %[[POS]][{{.+}}], {{.*}} : tensor<512x312xf32>, vector<1x1x312xf32>
// CHECK:               arith.addf {{.*}} : vector<1x1x312xf32>
// CHECK:               vector.transfer_write
// CHECK-NOT:     vector.gather
// CHECK-NOT:     linalg.generic
#ids = affine_map<(d0, d1, d2) -> (d0, d1)>
#out = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
func.func @embedding_rows(%ids: tensor<?x?xi64>, %table: tensor<1000x312xf32>, %pos: tensor<512x312xf32>)
    -> tensor<?x?x312xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %b = tensor.dim %ids, %c0 : tensor<?x?xi64>
  %s = tensor.dim %ids, %c1 : tensor<?x?xi64>
  %e = tensor.empty(%b, %s) : tensor<?x?x312xf32>
  %r = linalg.generic {indexing_maps = [#ids, #out], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%ids : tensor<?x?xi64>) outs(%e : tensor<?x?x312xf32>) {
  ^bb0(%id: i64, %o: f32):
    %row = arith.index_cast %id : i64 to index
    %p = linalg.index 1 : index
    %d = linalg.index 2 : index
    %w = tensor.extract %table[%row, %d] : tensor<1000x312xf32>
    %q = tensor.extract %pos[%p, %d] : tensor<512x312xf32>
    %z = arith.addf %w, %q : f32
    linalg.yield %z : f32
  } -> tensor<?x?x312xf32>
  return %r : tensor<?x?x312xf32>
}

// -----

// A row index computed through a chain of ops that each use the previous value twice: 2^48 paths from the
// index to its leaves, which upstream's vectoriser walks one by one (the pass never finished). Past 256 paths
// the gather stays a scalar thread tile.
// CHECK-LABEL: func.func @deep_row_index(
// CHECK:         scf.forall
// CHECK:           linalg.generic
// CHECK-NOT:       vector.transfer_read
#ids3 = affine_map<(d0, d1) -> (d0)>
#out3 = affine_map<(d0, d1) -> (d0, d1)>
func.func @deep_row_index(%ids: tensor<?xi64>, %table: tensor<1000x64xf32>) -> tensor<?x64xf32> {
  %c0 = arith.constant 0 : index
  %n = tensor.dim %ids, %c0 : tensor<?xi64>
  %e = tensor.empty(%n) : tensor<?x64xf32>
  %r = linalg.generic {indexing_maps = [#ids3, #out3], iterator_types = ["parallel", "parallel"]}
      ins(%ids : tensor<?xi64>) outs(%e : tensor<?x64xf32>) {
  ^bb0(%i0: i64, %o: f32):
    %i1 = arith.addi %i0, %i0 : i64
    %i2 = arith.addi %i1, %i1 : i64
    %i3 = arith.addi %i2, %i2 : i64
    %i4 = arith.addi %i3, %i3 : i64
    %i5 = arith.addi %i4, %i4 : i64
    %i6 = arith.addi %i5, %i5 : i64
    %i7 = arith.addi %i6, %i6 : i64
    %i8 = arith.addi %i7, %i7 : i64
    %i9 = arith.addi %i8, %i8 : i64
    %i10 = arith.addi %i9, %i9 : i64
    %i11 = arith.addi %i10, %i10 : i64
    %i12 = arith.addi %i11, %i11 : i64
    %i13 = arith.addi %i12, %i12 : i64
    %i14 = arith.addi %i13, %i13 : i64
    %i15 = arith.addi %i14, %i14 : i64
    %i16 = arith.addi %i15, %i15 : i64
    %i17 = arith.addi %i16, %i16 : i64
    %i18 = arith.addi %i17, %i17 : i64
    %i19 = arith.addi %i18, %i18 : i64
    %i20 = arith.addi %i19, %i19 : i64
    %i21 = arith.addi %i20, %i20 : i64
    %i22 = arith.addi %i21, %i21 : i64
    %i23 = arith.addi %i22, %i22 : i64
    %i24 = arith.addi %i23, %i23 : i64
    %i25 = arith.addi %i24, %i24 : i64
    %i26 = arith.addi %i25, %i25 : i64
    %i27 = arith.addi %i26, %i26 : i64
    %i28 = arith.addi %i27, %i27 : i64
    %i29 = arith.addi %i28, %i28 : i64
    %i30 = arith.addi %i29, %i29 : i64
    %i31 = arith.addi %i30, %i30 : i64
    %i32 = arith.addi %i31, %i31 : i64
    %i33 = arith.addi %i32, %i32 : i64
    %i34 = arith.addi %i33, %i33 : i64
    %i35 = arith.addi %i34, %i34 : i64
    %i36 = arith.addi %i35, %i35 : i64
    %i37 = arith.addi %i36, %i36 : i64
    %i38 = arith.addi %i37, %i37 : i64
    %i39 = arith.addi %i38, %i38 : i64
    %i40 = arith.addi %i39, %i39 : i64
    %i41 = arith.addi %i40, %i40 : i64
    %i42 = arith.addi %i41, %i41 : i64
    %i43 = arith.addi %i42, %i42 : i64
    %i44 = arith.addi %i43, %i43 : i64
    %i45 = arith.addi %i44, %i44 : i64
    %i46 = arith.addi %i45, %i45 : i64
    %i47 = arith.addi %i46, %i46 : i64
    %i48 = arith.addi %i47, %i47 : i64
    %row = arith.index_cast %i48 : i64 to index
    %d = linalg.index 1 : index
    %w = tensor.extract %table[%row, %d] : tensor<1000x64xf32>
    linalg.yield %w : f32
  } -> tensor<?x64xf32>
  return %r : tensor<?x64xf32>
}

// -----

// A gather whose rows have a dynamic width stays a thread tile of scalar loops (no static vector shape).
// CHECK-LABEL: func.func @dynamic_width_gather(
// OPTS-LABEL: func.func @dynamic_width_gather(
// CHECK:         scf.forall
// CHECK:           linalg.generic
// CHECK-NOT:       vector.transfer_read
#ids2 = affine_map<(d0, d1) -> (d0)>
#out2 = affine_map<(d0, d1) -> (d0, d1)>
func.func @dynamic_width_gather(%ids: tensor<?xi64>, %table: tensor<?x?xf32>) -> tensor<?x?xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %n = tensor.dim %ids, %c0 : tensor<?xi64>
  %d = tensor.dim %table, %c1 : tensor<?x?xf32>
  %e = tensor.empty(%n, %d) : tensor<?x?xf32>
  %r = linalg.generic {indexing_maps = [#ids2, #out2], iterator_types = ["parallel", "parallel"]}
      ins(%ids : tensor<?xi64>) outs(%e : tensor<?x?xf32>) {
  ^bb0(%id: i64, %o: f32):
    %row = arith.index_cast %id : i64 to index
    %col = linalg.index 1 : index
    %w = tensor.extract %table[%row, %col] : tensor<?x?xf32>
    linalg.yield %w : f32
  } -> tensor<?x?xf32>
  return %r : tensor<?x?xf32>
}

// -----

// A gather that does not copy rows (its channel index is computed: a rotary pair partner) stays a thread
// tile of scalar loops, as do one whose row index goes through a non-arith op, one of i1 elements (LLVM packs
// vectors of i1 into bits) and one that applies a math op to the row.
// CHECK-LABEL: func.func @not_row_gathers(
// CHECK-NOT:     vector.
// OPTS-LABEL: func.func @not_row_gathers(
#io = affine_map<(d0, d1) -> (d0, d1)>
#rowid = affine_map<(d0, d1) -> (d0)>
func.func @not_row_gathers(%x: tensor<?x64xf32>, %ids: tensor<?xi64>, %flags: tensor<?x64xi1>)
    -> (tensor<?x64xf32>, tensor<?x64xf32>, tensor<?x64xi1>, tensor<?x64xf32>) {
  %c0 = arith.constant 0 : index
  %c32 = arith.constant 32 : index
  %c64 = arith.constant 64 : index
  %n = tensor.dim %x, %c0 : tensor<?x64xf32>
  %e = tensor.empty(%n) : tensor<?x64xf32>
  %partner = linalg.generic {indexing_maps = [#io], iterator_types = ["parallel", "parallel"]}
      outs(%e : tensor<?x64xf32>) {
  ^bb0(%o: f32):
    %i = linalg.index 0 : index
    %d = linalg.index 1 : index
    %s = arith.addi %d, %c32 : index
    %p = arith.remui %s, %c64 : index
    %w = tensor.extract %x[%i, %p] : tensor<?x64xf32>
    linalg.yield %w : f32
  } -> tensor<?x64xf32>
  %abs = linalg.generic {indexing_maps = [#rowid, #io], iterator_types = ["parallel", "parallel"]}
      ins(%ids : tensor<?xi64>) outs(%e : tensor<?x64xf32>) {
  ^bb0(%id: i64, %o: f32):
    %a = math.absi %id : i64
    %row = arith.index_cast %a : i64 to index
    %d = linalg.index 1 : index
    %w = tensor.extract %x[%row, %d] : tensor<?x64xf32>
    linalg.yield %w : f32
  } -> tensor<?x64xf32>
  %bits = tensor.empty(%n) : tensor<?x64xi1>
  %mask = linalg.generic {indexing_maps = [#rowid, #io], iterator_types = ["parallel", "parallel"]}
      ins(%ids : tensor<?xi64>) outs(%bits : tensor<?x64xi1>) {
  ^bb0(%id: i64, %o: i1):
    %row = arith.index_cast %id : i64 to index
    %d = linalg.index 1 : index
    %w = tensor.extract %flags[%row, %d] : tensor<?x64xi1>
    linalg.yield %w : i1
  } -> tensor<?x64xi1>
  %tanh = linalg.generic {indexing_maps = [#rowid, #io], iterator_types = ["parallel", "parallel"]}
      ins(%ids : tensor<?xi64>) outs(%e : tensor<?x64xf32>) {
  ^bb0(%id: i64, %o: f32):
    %row = arith.index_cast %id : i64 to index
    %d = linalg.index 1 : index
    %w = tensor.extract %x[%row, %d] : tensor<?x64xf32>
    %t = math.absf %w : f32
    linalg.yield %t : f32
  } -> tensor<?x64xf32>
  return %partner, %abs, %mask, %tanh : tensor<?x64xf32>, tensor<?x64xf32>, tensor<?x64xi1>, tensor<?x64xf32>
}
