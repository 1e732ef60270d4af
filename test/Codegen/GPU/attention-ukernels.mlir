// RUN: effc-opt %s --split-input-file --effc-gpu-attention-ukernels | FileCheck %s
// RUN: effc-opt %s --split-input-file --effc-gpu-attention-ukernels="decode-max-rows=1" | FileCheck %s --check-prefix=ONE
// RUN: effc-opt %s --split-input-file --effc-gpu-attention-ukernels="precision=bf16" | FileCheck %s --check-prefix=BF16
// RUN: effc-opt %s --split-input-file --effc-gpu-attention-ukernels="precision=f16" | FileCheck %s --check-prefix=F16

// Calls of the CPU's fused attention kernel (as convert-eff-to-linalg makes them, after bufferization) become
// launches of the device kernels of ukernels/cuda/attention.cu.

!b3 = memref<?x?x?xf32, strided<[?, ?, ?], offset: ?>>
!b2 = memref<?x?xf32, strided<[?, ?], offset: ?>>
func.func private @effc_uk_attention_f32(!b3, !b3, !b3, !b3, !b3, !b2, i64, i64, f32, i64, i64, i64, !b3)

// A padding mask, causal, GQA (4 heads over 2), head size 16 (64 / 4), no KV cache. One launch (no scf.if
// around it on the host, so that it stays on the stream of the code around it): up to 4 query rows take the
// decode kernel (256 threads, a block per row), more the prefill kernel (128 threads, a block per 16 rows);
// grid x is batch x heads; without queries one block runs and calls nothing. The host call and its
// declaration are gone.
// CHECK-LABEL: func.func @masked_causal_gqa
// CHECK-SAME:    (%[[Q:.+]]: memref<?x?x64xf32>, %[[K:.+]]: memref<?x?x32xf32>, %[[V:.+]]: memref<?x?x32xf32>, %[[M:.+]]: memref<?x?xf32>, %[[O:.+]]: memref<?x?x64xf32>)
// CHECK-DAG:     %[[QC:.+]] = memref.cast %[[Q]]
// CHECK-DAG:     %[[MC:.+]] = memref.cast %[[M]]
// CHECK:         %{{.+}}, %{{.+}}, %[[QS:.+]]:3, %{{.+}}:3 = memref.extract_strided_metadata %[[QC]]
// CHECK:         %[[HEADS:.+]] = arith.index_cast %c4_i64 : i64 to index
// CHECK:         %[[FEW:.+]] = arith.cmpi sle, %[[QS]]#1, %c4
// CHECK:         %[[NONEMPTY:.+]] = arith.andi
// CHECK:         %[[BH:.+]] = arith.muli %[[QS]]#0, %[[HEADS]] : index
// CHECK:         %[[GX:.+]] = arith.select %[[NONEMPTY]], %[[BH]], %c1
// CHECK:         %[[BLOCKS:.+]] = arith.ceildivui %[[QS]]#1, %c16
// CHECK:         %[[ROWS:.+]] = arith.select %[[FEW]], %[[QS]]#1, %[[BLOCKS]]
// CHECK:         %[[GY:.+]] = arith.select %[[NONEMPTY]], %[[ROWS]], %c1
// CHECK:         %[[THREADS:.+]] = arith.select %[[FEW]], %c256, %c128
// CHECK-NOT:     scf.if
// CHECK:         gpu.launch blocks({{.*}}) in (%{{.+}} = %[[GX]], %{{.+}} = %[[GY]], %{{.+}} = %c1) threads({{.*}}) in (%{{.+}} = %[[THREADS]], %{{.+}} = %c1, %{{.+}} = %c1)
// CHECK:           scf.if
// CHECK:             scf.if
// CHECK:               memref.extract_aligned_pointer_as_index %[[QC]]
// CHECK:               memref.extract_aligned_pointer_as_index %[[MC]]
// CHECK:               llvm.call @effc_cuda_uk_attention_decode_f32(
// CHECK-SAME:            %cst, %c1_i64, %c1_i64) :
// CHECK:             } else {
// CHECK:               llvm.call @effc_cuda_uk_attention_f32(
// CHECK:           gpu.terminator
// CHECK-NOT:     call @effc_uk_attention_f32
// CHECK:         return
// CHECK-NOT:   func.func private @effc_uk_attention_f32
// CHECK-DAG:   llvm.func @effc_cuda_uk_attention_decode_f32(i64, i64, i64, i64, i64, i64, !llvm.ptr, i64, i64, i64, !llvm.ptr, i64, i64, i64, !llvm.ptr, i64, i64, i64, !llvm.ptr, i64, i64, i64, !llvm.ptr, i64, i64, i64, !llvm.ptr, i64, i64, !llvm.ptr, i64, i64, i64, f32, i64, i64)
// CHECK-DAG:   llvm.func @effc_cuda_uk_attention_f32(
// ONE-LABEL:   func.func @masked_causal_gqa
// ONE:           arith.cmpi sle, %{{.+}}, %c1
// precision=bf16 / f16: prefill takes the tensor-core kernel for head sizes up to 64, a block per 64 rows;
// decode keeps its f32 kernel.
// BF16-LABEL:  func.func @masked_causal_gqa
// BF16:          %[[BLOCKS:.+]] = arith.ceildivui %{{.+}}, %c64
// BF16:          gpu.launch
// BF16:            llvm.call @effc_cuda_uk_attention_decode_f32(
// BF16:          } else {
// BF16:            llvm.call @effc_cuda_uk_attention_mma_bf16_d64(
// BF16-NOT:      @effc_cuda_uk_attention_f32(
// F16-LABEL:   func.func @masked_causal_gqa
// F16:             llvm.call @effc_cuda_uk_attention_mma_f16_d64(
func.func @masked_causal_gqa(%q: memref<?x?x64xf32>, %k: memref<?x?x32xf32>, %v: memref<?x?x32xf32>,
                             %m: memref<?x?xf32>, %o: memref<?x?x64xf32>) {
  %c4_i64 = arith.constant 4 : i64
  %c2_i64 = arith.constant 2 : i64
  %c1_i64 = arith.constant 1 : i64
  %c0_i64 = arith.constant 0 : i64
  %scale = arith.constant 2.500000e-01 : f32
  %qc = memref.cast %q : memref<?x?x64xf32> to !b3
  %kc = memref.cast %k : memref<?x?x32xf32> to !b3
  %vc = memref.cast %v : memref<?x?x32xf32> to !b3
  %mc = memref.cast %m : memref<?x?xf32> to !b2
  %oc = memref.cast %o : memref<?x?x64xf32> to !b3
  call @effc_uk_attention_f32(%qc, %kc, %vc, %kc, %vc, %mc, %c4_i64, %c2_i64, %scale, %c1_i64, %c1_i64, %c0_i64, %oc)
      : (!b3, !b3, !b3, !b3, !b3, !b2, i64, i64, f32, i64, i64, i64, !b3) -> ()
  return
}

// -----

!b3 = memref<?x?x?xf32, strided<[?, ?, ?], offset: ?>>
!b2 = memref<?x?xf32, strided<[?, ?], offset: ?>>
func.func private @effc_uk_attention_f32(!b3, !b3, !b3, !b3, !b3, !b2, i64, i64, f32, i64, i64, i64, !b3)

// Head size 96 (192 / 2): the tensor-core kernels for head sizes up to 128.
// CHECK-LABEL: func.func @head_size_96
// CHECK:           llvm.call @effc_cuda_uk_attention_f32(
// BF16-LABEL:  func.func @head_size_96
// BF16:            llvm.call @effc_cuda_uk_attention_mma_bf16_d128(
// F16-LABEL:   func.func @head_size_96
// F16:             llvm.call @effc_cuda_uk_attention_mma_f16_d128(
func.func @head_size_96(%q: memref<?x?x192xf32>, %k: memref<?x?x192xf32>, %v: memref<?x?x192xf32>,
                        %m: memref<?x?xf32>, %o: memref<?x?x192xf32>) {
  %c2_i64 = arith.constant 2 : i64
  %c0_i64 = arith.constant 0 : i64
  %scale = arith.constant 1.000000e-01 : f32
  %qc = memref.cast %q : memref<?x?x192xf32> to !b3
  %kc = memref.cast %k : memref<?x?x192xf32> to !b3
  %vc = memref.cast %v : memref<?x?x192xf32> to !b3
  %mc = memref.cast %m : memref<?x?xf32> to !b2
  %oc = memref.cast %o : memref<?x?x192xf32> to !b3
  call @effc_uk_attention_f32(%qc, %kc, %vc, %kc, %vc, %mc, %c2_i64, %c2_i64, %scale, %c0_i64, %c0_i64, %c0_i64, %oc)
      : (!b3, !b3, !b3, !b3, !b3, !b2, i64, i64, f32, i64, i64, i64, !b3) -> ()
  return
}

// -----

!b3 = memref<?x?x?xf32, strided<[?, ?, ?], offset: ?>>
!b2 = memref<?x?xf32, strided<[?, ?], offset: ?>>
func.func private @effc_uk_attention_f32(!b3, !b3, !b3, !b3, !b3, !b2, i64, i64, f32, i64, i64, i64, !b3)

// A KV cache (has_past = 1): the past length is the cache's rows; no mask (has_mask = 0): a null pointer, and
// the placeholder mask is not passed to the kernel.
// CHECK-LABEL: func.func @decode_with_cache
// CHECK-SAME:    (%[[Q:.+]]: memref<1x1x64xf32>, %{{.+}}: memref<1x1x64xf32>, %{{.+}}: memref<1x1x64xf32>, %[[PK:.+]]: memref<1x?x64xf32>, %{{.+}}: memref<1x?x64xf32>, %[[PM:.+]]: memref<1x1xf32>
// CHECK-DAG:     %[[PKC:.+]] = memref.cast %[[PK]]
// CHECK-DAG:     %[[PMC:.+]] = memref.cast %[[PM]]
// CHECK:         %{{.+}}, %{{.+}}, %[[PKS:.+]]:3, %{{.+}}:3 = memref.extract_strided_metadata %[[PKC]]
// CHECK-NOT:     memref.extract_strided_metadata %[[PMC]]
// CHECK:         %[[HAS_PAST:.+]] = arith.cmpi ne, %c1_i64
// CHECK:         %[[PAST:.+]] = arith.select %[[HAS_PAST]], %[[PKS]]#1, %c0
// CHECK:         gpu.launch
// CHECK:           %[[PAST64:.+]] = arith.index_cast %[[PAST]] : index to i64
// CHECK:           %[[NULL:.+]] = llvm.mlir.zero : !llvm.ptr
// CHECK:           llvm.call @effc_cuda_uk_attention_decode_f32(%{{.+}}, %{{.+}}, %[[PAST64]], {{.*}}, %[[NULL]], %c0_i64{{.*}}, %c0_i64{{.*}}, %{{.+}}
func.func @decode_with_cache(%q: memref<1x1x64xf32>, %k: memref<1x1x64xf32>, %v: memref<1x1x64xf32>,
                             %pk: memref<1x?x64xf32>, %pv: memref<1x?x64xf32>, %placeholder: memref<1x1xf32>,
                             %o: memref<1x1x64xf32>) {
  %c4_i64 = arith.constant 4 : i64
  %c1_i64 = arith.constant 1 : i64
  %c0_i64 = arith.constant 0 : i64
  %scale = arith.constant 2.500000e-01 : f32
  %qc = memref.cast %q : memref<1x1x64xf32> to !b3
  %kc = memref.cast %k : memref<1x1x64xf32> to !b3
  %vc = memref.cast %v : memref<1x1x64xf32> to !b3
  %pkc = memref.cast %pk : memref<1x?x64xf32> to !b3
  %pvc = memref.cast %pv : memref<1x?x64xf32> to !b3
  %pmc = memref.cast %placeholder : memref<1x1xf32> to !b2
  %oc = memref.cast %o : memref<1x1x64xf32> to !b3
  call @effc_uk_attention_f32(%qc, %kc, %vc, %pkc, %pvc, %pmc, %c4_i64, %c4_i64, %scale, %c1_i64, %c0_i64, %c1_i64, %oc)
      : (!b3, !b3, !b3, !b3, !b3, !b2, i64, i64, f32, i64, i64, i64, !b3) -> ()
  return
}

// -----

// Other calls are left alone.
// CHECK-LABEL: func.func @other_call
// CHECK:         call @effc_uk_layer_norm(
// CHECK-NOT:     gpu.launch
func.func private @effc_uk_layer_norm(memref<?xf32>)
func.func @other_call(%x: memref<?xf32>) {
  call @effc_uk_layer_norm(%x) : (memref<?xf32>) -> ()
  return
}
