//===- GemmUkernels.cpp - f32 contractions as device GEMM micro-kernels ----===//
//
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// Implements effc-gpu-gemm-ukernels: every f32 matrix product on memrefs becomes a gpu.launch whose body
// calls the tiled GEMM of ukernels/cuda/gemm.cu, instead of one thread per output element reducing over
// global memory.
//
//===----------------------------------------------------------------------===//

#include "effc/Codegen/Passes.h"

#include "LaunchBuilder.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/SymbolTable.h"

namespace effc {
#define GEN_PASS_DEF_EFFCGPUGEMMUKERNELSPASS
#include "effc/Codegen/Passes.h.inc"
} // namespace effc

using namespace mlir;

namespace {

constexpr int64_t kThreadsPerBlock = 256;

using GemmTile = effc::KernelTile;
constexpr GemmTile kLargeTile = {128, 128, "effc_cuda_uk_sgemm_128x128"};
constexpr GemmTile kSmallTile = {64, 64, "effc_cuda_uk_sgemm_64x64"};
// Few rows of A (decode): 8 rows x 32 columns per block, exact f32 whatever the precision (memory-bound).
constexpr GemmTile kGemv = {8, 32, "effc_cuda_uk_sgemv_f32"};
// precision=bf16 / f16: the tensor-core GEMMs of ukernels/cuda/mma_gemm.cu, same arguments, 16-bit products.
constexpr GemmTile kLargeBf16Tile = {128, 128, "effc_cuda_uk_bf16_sgemm_128x128"};
constexpr GemmTile kSmallBf16Tile = {64, 64, "effc_cuda_uk_bf16_sgemm_64x64"};
constexpr GemmTile kLargeF16Tile = {128, 128, "effc_cuda_uk_f16_sgemm_128x128"};
constexpr GemmTile kSmallF16Tile = {64, 64, "effc_cuda_uk_f16_sgemm_64x64"};
// wgmma=true (sm_90a): the warpgroup GEMMs of ukernels/cuda/wgmma_gemm.cu as the large tile, same arguments.
constexpr GemmTile kWgmmaBf16Tile = {128, 128, "effc_cuda_uk_bf16_sgemm_wgmma_128x128"};
constexpr GemmTile kWgmmaF16Tile = {128, 128, "effc_cuda_uk_f16_sgemm_wgmma_128x128"};

/// The large and small tiles for a precision.
std::pair<GemmTile, GemmTile> tilesFor(effc::MatmulPrecision precision, bool wgmma) {
  switch (precision) {
  case effc::MatmulPrecision::F32:
    return {kLargeTile, kSmallTile};
  case effc::MatmulPrecision::Bf16:
    return {wgmma ? kWgmmaBf16Tile : kLargeBf16Tile, kSmallBf16Tile};
  case effc::MatmulPrecision::F16:
    return {wgmma ? kWgmmaF16Tile : kLargeF16Tile, kSmallF16Tile};
  }
  llvm_unreachable("unknown matmul precision");
}

/// How the loops of a contraction C[outer..., m, n] += A[outer_a..., m, k] · B[outer_b..., k, n] map to the
/// micro-kernel's GEMM. Dimensions are loop positions of the linalg.generic.
struct ContractionShape {
  unsigned m, n, k;
  /// C's dimensions before m, outermost first, and whether B indexes each (a batch dimension) or not (a row
  /// dimension of A and C that B is broadcast over).
  SmallVector<unsigned> outer;
  SmallVector<bool> inB;
};

/// Returns true if `v` is block argument `index` of `block`.
bool isArgument(Value v, Block &block, unsigned index) {
  auto arg = dyn_cast<BlockArgument>(v);
  return arg && arg.getOwner() == &block && arg.getArgNumber() == index;
}

/// The body is `yield acc + a · b` (in any operand order) over f32 block arguments (a, b, acc).
bool isMultiplyAccumulate(linalg::GenericOp op) {
  Block &body = op.getRegion().front();
  if (!llvm::hasNItems(body.getOperations(), 3))
    return false;
  auto yield = cast<linalg::YieldOp>(body.getTerminator());
  auto add = yield.getValues()[0].getDefiningOp<arith::AddFOp>();
  if (!add)
    return false;
  Value acc = add.getLhs(), product = add.getRhs();
  if (!isArgument(acc, body, 2))
    std::swap(acc, product);
  auto mul = product.getDefiningOp<arith::MulFOp>();
  if (!isArgument(acc, body, 2) || !mul)
    return false;
  return (isArgument(mul.getLhs(), body, 0) && isArgument(mul.getRhs(), body, 1)) ||
         (isArgument(mul.getLhs(), body, 1) && isArgument(mul.getRhs(), body, 0));
}

/// The innermost stride of `type` is statically 1.
bool hasContiguousRows(MemRefType type) {
  SmallVector<int64_t> strides;
  int64_t offset;
  return succeeded(type.getStridesAndOffset(strides, offset)) && !strides.empty() && strides.back() == 1;
}

/// Recognises an f32 matrix product that the micro-kernel computes, or returns std::nullopt.
std::optional<ContractionShape> matchContraction(linalg::GenericOp op) {
  if (!op.hasPureBufferSemantics() || op.getNumDpsInputs() != 2 || op.getNumDpsInits() != 1 ||
      op.getNumReductionLoops() != 1)
    return std::nullopt;
  SmallVector<MemRefType> types;
  for (Value operand : op->getOperands()) {
    auto type = dyn_cast<MemRefType>(operand.getType());
    if (!type || !type.getElementType().isF32() || type.getRank() < 2 || !hasContiguousRows(type))
      return std::nullopt;
    types.push_back(type);
  }
  if (!isMultiplyAccumulate(op))
    return std::nullopt;
  SmallVector<AffineMap> maps = op.getIndexingMapsArray();
  if (!llvm::all_of(maps, [](AffineMap map) { return map.isProjectedPermutation(/*allowZeroInResults=*/false); }))
    return std::nullopt;
  auto dims = [](AffineMap map) {
    SmallVector<unsigned> positions;
    for (AffineExpr expr : map.getResults())
      positions.push_back(cast<AffineDimExpr>(expr).getPosition());
    return positions;
  };
  SmallVector<unsigned> a = dims(maps[0]), b = dims(maps[1]), c = dims(maps[2]);
  ContractionShape shape;
  shape.k = a.back();
  shape.m = c[c.size() - 2];
  shape.n = c.back();
  SmallVector<utils::IteratorType> iterators = op.getIteratorTypesArray();
  if (iterators[shape.k] != utils::IteratorType::reduction || a[a.size() - 2] != shape.m ||
      b[b.size() - 2] != shape.k || b.back() != shape.n || llvm::is_contained(b, shape.m) ||
      llvm::is_contained(a, shape.n))
    return std::nullopt;
  // A is C's outer dimensions then (m, k); B a subsequence of them then (k, n).
  shape.outer.assign(c.begin(), c.end() - 2);
  if (!llvm::equal(ArrayRef<unsigned>(a).drop_back(2), shape.outer))
    return std::nullopt;
  ArrayRef<unsigned> bOuter = ArrayRef<unsigned>(b).drop_back(2);
  size_t next = 0;
  for (unsigned dim : shape.outer) {
    bool indexed = next < bOuter.size() && bOuter[next] == dim;
    next += indexed;
    shape.inB.push_back(indexed);
  }
  if (next != bOuter.size())
    return std::nullopt;
  return shape;
}

/// The micro-kernel's declaration: (M, N, K, A, lda, B, ldb, C, ldc).
LLVM::LLVMFuncOp getOrDeclareUkernel(ModuleOp module, StringRef name) {
  MLIRContext *ctx = module.getContext();
  Type i64 = IntegerType::get(ctx, 64), ptr = LLVM::LLVMPointerType::get(ctx);
  return effc::getOrDeclareDeviceFunction(module, name, {i64, i64, i64, ptr, i64, ptr, i64, ptr, i64});
}

class GemmLauncher : public effc::LaunchBuilder {
public:
  GemmLauncher(OpBuilder &b, Location loc, ModuleOp module) : LaunchBuilder(b, loc), module(module) {}

  void lower(linalg::GenericOp op, const ContractionShape &shape, int64_t minLargeTiles, int64_t maxGemvRows,
             effc::MatmulPrecision precision, bool wgmma) {
    Value aMemref = op.getDpsInputs()[0], bMemref = op.getDpsInputs()[1], cMemref = op.getDpsInits()[0];
    a = stridedBuffer(aMemref);
    bl = stridedBuffer(bMemref);
    c = stridedBuffer(cMemref);
    size_t numOuter = shape.outer.size();
    // Row dimensions just before m fold into M when A and C are contiguous (identity layouts).
    auto identity = [](Value v) { return cast<MemRefType>(v.getType()).getLayout().isIdentity(); };
    size_t folded = 0;
    if (identity(aMemref) && identity(cMemref))
      while (folded < numOuter && !shape.inB[numOuter - 1 - folded])
        ++folded;
    rows = c.sizes[numOuter];
    for (size_t i = numOuter - folded; i < numOuter; ++i)
      rows = arith::MulIOp::create(b, loc, rows, c.sizes[i]);
    cols = c.sizes[numOuter + 1];
    depth = a.sizes.back();
    // The rest are spread over block z: their extents and each operand's strides (0 where B is broadcast).
    batchCount = index(1);
    batch.clear();
    size_t bPosition = 0;
    for (size_t i = 0; i < numOuter - folded; ++i) {
      Value bStride = shape.inB[i] ? bl.strides[bPosition++] : index(0);
      batch.push_back({c.sizes[i], a.strides[i], bStride, c.strides[i]});
      batchCount = arith::MulIOp::create(b, loc, batchCount, c.sizes[i]);
    }

    // Nothing to launch for an empty C (a grid of 0 blocks is invalid); with K = 0 C is left as it is.
    OpBuilder::InsertionGuard guard(b);
    enterIfAllPositive({rows, cols, batchCount});
    // At most maxGemvRows rows: the GEMV; else the large tile when it yields enough blocks, else the small one.
    auto gemv = scf::IfOp::create(b, loc, cmp(arith::CmpIPredicate::sle, rows, index(maxGemvRows)),
                                  /*withElseRegion=*/true);
    b.setInsertionPointToStart(&gemv.getThenRegion().front());
    launch(kGemv, shape);
    b.setInsertionPointToStart(&gemv.getElseRegion().front());
    Value largeTiles = arith::MulIOp::create(
        b, loc, arith::MulIOp::create(b, loc, ceilDiv(rows, kLargeTile.rows), ceilDiv(cols, kLargeTile.cols)),
        batchCount);
    Value useLarge = cmp(arith::CmpIPredicate::sge, largeTiles, index(minLargeTiles));
    auto choice = scf::IfOp::create(b, loc, useLarge, /*withElseRegion=*/true);
    auto [largeTile, smallTile] = tilesFor(precision, wgmma);
    b.setInsertionPointToStart(&choice.getThenRegion().front());
    launch(largeTile, shape);
    b.setInsertionPointToStart(&choice.getElseRegion().front());
    launch(smallTile, shape);
  }

private:
  struct BatchDim {
    Value size, aStride, bStride, cStride;
  };



  void launch(const GemmTile &tile, const ContractionShape &shape) {
    LLVM::LLVMFuncOp ukernel = getOrDeclareUkernel(module, tile.function);
    Value one = index(1);
    auto launchOp = gpu::LaunchOp::create(b, loc, ceilDiv(cols, tile.cols), ceilDiv(rows, tile.rows), batchCount,
                                          index(kThreadsPerBlock), one, one);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(&launchOp.getBody().front());
    // Block z is the linear index over the batch dimensions, innermost fastest.
    Value remaining = launchOp.getBlockIds().z;
    Value aOffset = a.offset, bOffset = bl.offset, cOffset = c.offset;
    for (const BatchDim &dim : llvm::reverse(batch)) {
      Value position = arith::RemUIOp::create(b, loc, remaining, dim.size);
      remaining = arith::DivUIOp::create(b, loc, remaining, dim.size);
      aOffset = arith::AddIOp::create(b, loc, aOffset, arith::MulIOp::create(b, loc, position, dim.aStride));
      bOffset = arith::AddIOp::create(b, loc, bOffset, arith::MulIOp::create(b, loc, position, dim.bStride));
      cOffset = arith::AddIOp::create(b, loc, cOffset, arith::MulIOp::create(b, loc, position, dim.cStride));
    }
    size_t numOuter = shape.outer.size();
    Value lda = a.strides[numOuter], ldb = bl.strides[bl.strides.size() - 2], ldc = c.strides[numOuter];
    LLVM::CallOp::create(b, loc, ukernel,
                         ValueRange{toI64(rows), toI64(cols), toI64(depth), pointer(a.memref, aOffset, 4), toI64(lda),
                                    pointer(bl.memref, bOffset, 4), toI64(ldb), pointer(c.memref, cOffset, 4),
                                    toI64(ldc)});
    gpu::TerminatorOp::create(b, loc);
  }

  ModuleOp module;
  effc::StridedBuffer a, bl, c;
  Value rows, cols, depth, batchCount;
  SmallVector<BatchDim> batch;
};

struct GpuGemmUkernelsPass : public effc::impl::EffcGpuGemmUkernelsPassBase<GpuGemmUkernelsPass> {
  using EffcGpuGemmUkernelsPassBase::EffcGpuGemmUkernelsPassBase;

  void runOnOperation() override {
    if (minLargeTiles < 1) {
      getOperation().emitError("effc-gpu-gemm-ukernels: min-large-tiles must be at least 1, got ")
          << static_cast<int64_t>(minLargeTiles);
      return signalPassFailure();
    }
    if (maxGemvRows < 0 || maxGemvRows > kGemv.rows) {
      getOperation().emitError("effc-gpu-gemm-ukernels: max-gemv-rows must be between 0 and ")
          << kGemv.rows << ", got " << static_cast<int64_t>(maxGemvRows);
      return signalPassFailure();
    }
    std::optional<effc::MatmulPrecision> products = effc::parseMatmulPrecision(precision);
    if (!products) {
      getOperation().emitError("effc-gpu-gemm-ukernels: precision must be f32, bf16 or f16, got '")
          << precision << "'";
      return signalPassFailure();
    }
    SmallVector<std::pair<linalg::GenericOp, ContractionShape>> contractions;
    getOperation().walk([&](linalg::GenericOp op) {
      // Contractions already inside a kernel stay there.
      if (op->getParentOfType<gpu::LaunchOp>() || op->getParentOfType<gpu::GPUModuleOp>())
        return;
      if (std::optional<ContractionShape> shape = matchContraction(op))
        contractions.emplace_back(op, *shape);
    });
    for (auto &[op, shape] : contractions) {
      OpBuilder builder(op);
      GemmLauncher(builder, op.getLoc(), getOperation()).lower(op, shape, minLargeTiles, maxGemvRows, *products, wgmma);
      op.erase();
    }
  }
};

} // namespace
