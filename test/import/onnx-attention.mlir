// RUN: rm -rf %t && %PYTHON %S/make_onnx_models.py %t
// RUN: effc-import %t/gqa.onnx --report-raising 2>%t/gqa.txt | FileCheck %s --check-prefix=GQA
// RUN: FileCheck %s --check-prefix=GQA-REPORT < %t/gqa.txt
// RUN: effc-import %t/gqa_cache.onnx --report-raising 2>%t/cache.txt | FileCheck %s --check-prefix=CACHE
// RUN: FileCheck %s --check-prefix=CACHE-REPORT < %t/cache.txt
// RUN: effc-import %t/gqa_broadcast.onnx --report-raising 2>&1 >/dev/null | FileCheck %s --check-prefix=BROADCAST
// RUN: effc-import %t/gqa_window.onnx --report-raising 2>&1 >/dev/null | FileCheck %s --check-prefix=WINDOW
// RUN: effc %t/gqa_cache.onnx -o %t/gqa_cache.so

// Attention with grouped-query heads (make_onnx_models.py's gqa): 4 query heads of 4 share 2 key/value heads,
// repeated by Llama's repeat_kv (Unsqueeze -> Expand -> Reshape, shapes read with Shape -> Gather). The
// importer raises it to one eff.attention with num_kv_heads = 2 on the narrow [B, S, 8] projections: no Expand
// (a broadcasting linalg.generic), no transposes, no 5-D tensor are left.
