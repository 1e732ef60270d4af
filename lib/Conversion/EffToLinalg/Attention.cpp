#include "LoweringUtils.h"
#include "effc/Conversion/EffToLinalg/EffToLinalg.h"
#include "mlir/IR/PatternMatch.h"
void effc::populateAttentionLoweringPatterns(mlir::RewritePatternSet &patterns) {}
