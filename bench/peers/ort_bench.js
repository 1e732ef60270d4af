// Times an ONNX model with ONNX Runtime (npm's onnxruntime-node, CPU provider) and writes its first output.
//
//   node ort_bench.js MODEL.onnx INPUTS.json RUNS THREADS OUTPUT.bin
//
// INPUTS.json: [{"name": ..., "dtype": "int64"|"float32", "shape": [...], "file": "raw little-endian data"}].
// Prints "latency ms: min X median Y max Z (N runs)" like effc-run --bench, after 3 warm-up runs.
'use strict';
const fs = require('fs');
const ort = require('onnxruntime-node');

async function main() {
  const [model, inputsJson, runsText, threadsText, outputPath] = process.argv.slice(2);
  const runs = parseInt(runsText, 10), threads = parseInt(threadsText, 10);
  const session = await ort.InferenceSession.create(model, {
    graphOptimizationLevel: 'all', intraOpNumThreads: threads, interOpNumThreads: 1,
    executionMode: 'sequential', executionProviders: ['cpu'],
  });
  const feeds = {};
  for (const input of JSON.parse(fs.readFileSync(inputsJson, 'utf8'))) {
    const bytes = fs.readFileSync(input.file);
    const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
    const data = input.dtype === 'int64' ? new BigInt64Array(buffer) : new Float32Array(buffer);
    feeds[input.name] = new ort.Tensor(input.dtype, data, input.shape);
  }
  let outputs;
  for (let i = 0; i < 3; ++i) outputs = await session.run(feeds);
  const times = [];
  for (let i = 0; i < runs; ++i) {
    const start = process.hrtime.bigint();
    outputs = await session.run(feeds);
    times.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  times.sort((a, b) => a - b);
  const median = times.length % 2 ? times[(times.length - 1) / 2]
                                  : (times[times.length / 2 - 1] + times[times.length / 2]) / 2;
  console.log(`latency ms: min ${times[0].toFixed(3)} median ${median.toFixed(3)} ` +
              `max ${times[times.length - 1].toFixed(3)} (${runs} runs)`);
  const first = outputs[session.outputNames[0]];
  fs.writeFileSync(outputPath, Buffer.from(first.data.buffer, first.data.byteOffset, first.data.byteLength));
}

main().catch((error) => { console.error(`ort_bench: ${error.message}`); process.exit(1); });
