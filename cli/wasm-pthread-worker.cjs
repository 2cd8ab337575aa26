'use strict';
/**
 * The pthread worker of tfjs-backend-wasm's threaded-SIMD build, as a file
 * Node's worker_threads can start (see cli/wasm-threads.ts).
 *
 * tfjs hands Emscripten this script as a Blob URL, which Node workers cannot
 * load. The package ships the script's text as a string
 * (wasm-out/tfjs-backend-wasm-threaded-simd.worker.js); running it here with a
 * CommonJS module's own bindings is exactly what loading it as a file would do,
 * and it always matches the installed glue and binary.
 */
const { wasmWorkerContents } = require('@tensorflow/tfjs-backend-wasm/wasm-out/tfjs-backend-wasm-threaded-simd.worker.js');
if (typeof wasmWorkerContents !== 'string') {
  throw new Error('cxr-align: @tensorflow/tfjs-backend-wasm no longer exports wasmWorkerContents from wasm-out/tfjs-backend-wasm-threaded-simd.worker.js; see cli/wasm-threads.ts');
}
// The string holds "\n" escapes written as real newlines inside string literals; tfjs escapes them the same way.
new Function('require', 'module', 'exports', '__filename', '__dirname', wasmWorkerContents.replace(/\n/g, '\\n'))(
  require, module, exports, __filename, __dirname);
