# Removes the "target-cpu" and "target-features" function attributes from textual LLVM IR, so that the device
# micro-kernels take the model's architecture and can be inlined into its kernels (LLVM inlines only between
# functions with equal target attributes, and MLIR's kernels carry none).
# Usage: cmake -DINPUT=file.ll -DOUTPUT=file.stripped.ll -P StripTargetAttributes.cmake
file(READ ${INPUT} ir)
string(REGEX REPLACE " \"target-(cpu|features)\"=\"[^\"]*\"" "" ir "${ir}")
file(WRITE ${OUTPUT} "${ir}")
