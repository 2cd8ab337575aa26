/**
 * tfjs's WASM backend on every core in Node.
 *
 * tfjs-backend-wasm ships a threaded-SIMD build (XNNPACK on a pthread pool)
 * whose Emscripten glue supports Node's worker_threads, but tfjs switches it
 * off there (WASM_HAS_MULTITHREAD_SUPPORT is false under IS_NODE, tfjs#3830):
 * it hands Emscripten the pthread worker script, and the glue itself for the
 * workers to import, as Blob URLs, which Node workers cannot load. So here the
 * 'wasm' backend is re-registered with a factory that starts the same build
 * the way Emscripten expects in Node: the worker is a file
 * (wasm-pthread-worker.cjs, running the script text the package ships) and the
 * glue is imported by its path. The backend object is tfjs's own BackendWasm,
 * so every built-in kernel and cxr-align's own (src/engine/backend/*-kernels.ts,
 * the fused sampler) run on it unchanged.
 *
 * Two details of the build are worked around, not patched:
 *  - its C side caps the pool at emscripten_num_logical_cores() / 2 (it
 *    assumes two hyperthreads a core), so the import reports 2 × the threads
 *    asked for, and the pool gets exactly those;
 *  - the pool never exceeds 8 threads whatever it is asked for and whatever
 *    the core count (measured; the glue also pre-starts exactly 8 workers), so
 *    the default is min(cores, 8) and --threads above 8 is refused.
 *
 * Nothing falls back silently: when the threaded build does not start, or
 * starts with another thread count than asked for (say, after an upgrade of
 * tfjs), setupBackend (cli/backend.ts) throws with the reason. `threads` 1 is
 * tfjs's stock single-threaded SIMD build, exactly as before.
 *
 * Node only (node: imports); the engine (src/engine) never imports this module.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { setFlagsFromString } from 'node:v8';
import { Worker } from 'node:worker_threads';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { setConvThreadSpawner } from '../src/engine/backend/simd/conv-gemm';

const require = createRequire(import.meta.url);
const WORKER_SCRIPT = fileURLToPath(new URL('./wasm-pthread-worker.cjs', import.meta.url));
/** How long the module and its workers may take to start before it counts as failed. */
const START_TIMEOUT_MS = 120_000;
/** The env var the tests (src/testing/tf-backend.ts) and the CLI's default read. */
export const WASM_THREADS_ENV = 'CXR_WASM_THREADS';

/** The most threads tfjs-backend-wasm 4.22's threaded build runs, however many it is asked for (measured). */
export const WASM_MAX_THREADS = 8;

/** Threads for the WASM backend when none are asked for: $CXR_WASM_THREADS, else every core Node may use (at most 8). */
export function defaultWasmThreads(env: NodeJS.ProcessEnv = process.env): number {
  const text = env[WASM_THREADS_ENV];
  if (text !== undefined && text !== '') return parseThreads(text, WASM_THREADS_ENV);
  return Math.min(availableParallelism(), WASM_MAX_THREADS);
}

export function parseThreads(text: string | number, what = '--threads'): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > WASM_MAX_THREADS) {
    throw new Error(`${what} must be a whole number from 1 to ${WASM_MAX_THREADS} (the most tfjs-backend-wasm's threaded build runs), got "${text}"`);
  }
  return n;
}

/** What the Emscripten module of the threaded build exposes, as far as this file uses it. */
interface EmscriptenWorker {
  unref(): void;
  terminate(): void;
}
interface ThreadedModule {
  cwrap(name: string, ret: string | null, args: string[]): (...a: number[]) => number;
  PThread: {
    unusedWorkers: EmscriptenWorker[];
    runningWorkers: EmscriptenWorker[];
  };
  tfjs?: unknown;
}
type Factory = (config: Record<string, unknown>) => PromiseLike<ThreadedModule>;

let registered: number | undefined;
let started: number | undefined;
let failure: Error | undefined;

/** Why the threaded build did not start, when it did not. */
export function threadedWasmFailure(): Error | undefined {
  return failure;
}

/**
 * Make the next start of the 'wasm' backend use `threads` threads: above 1,
 * the threaded-SIMD build with its pool sized to `threads`; 1, tfjs's stock
 * single-threaded build. Call before the backend starts (initBackend); once it
 * has started its thread count is fixed for the process, and asking for
 * another one throws.
 */
export async function prepareNodeWasm(threads: number): Promise<void> {
  parseThreads(threads, 'WASM threads');
  prepareConvGemm();
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  const running = (tf.engine() as unknown as { registry: Record<string, unknown> }).registry.wasm !== undefined;
  if (running) {
    const now = started ?? 1;
    if (now !== threads) throw new Error(`the WASM backend already runs ${now} thread(s) in this process; it cannot switch to ${threads}`);
    return;
  }
  if (registered === threads || (threads === 1 && registered === undefined)) return;
  if (threads === 1) throw new Error('the threaded WASM backend was prepared in this process; it cannot go back to the single-threaded build');
  wasm.setThreadsCount(threads);
  tf.removeBackend('wasm');
  // Priority 2: tfjs-backend-wasm's own.
  tf.registerBackend('wasm', () => startThreaded(wasm, threads), 2);
  registered = threads;
}

async function startThreaded(wasm: typeof import('@tensorflow/tfjs-backend-wasm'), threads: number): Promise<InstanceType<typeof wasm.BackendWasm>> {
  failure = undefined;
  try {
    const glue = require.resolve('@tensorflow/tfjs-backend-wasm/wasm-out/tfjs-backend-wasm-threaded-simd.js');
    const binaryPath = join(dirname(glue), 'tfjs-backend-wasm-threaded-simd.wasm');
    const factory = require(glue) as Factory;
    if (typeof factory !== 'function') throw new Error(`${glue} no longer exports the Emscripten module factory`);
    const module = await withTimeout(new Promise<ThreadedModule>((resolve, reject) => {
      const config = {
        locateFile: (path: string, prefix: string) => (path.endsWith('.worker.js') ? WORKER_SCRIPT : path.endsWith('.wasm') ? binaryPath : prefix + path),
        // Workers import the glue by this path (tfjs passes a Blob of the factory's source text).
        mainScriptUrlOrBlob: glue,
        instantiateWasm(imports: Record<string, Record<string, unknown>>, receive: (instance: WebAssembly.Instance, module: WebAssembly.Module) => void) {
          try {
            let hooked = 0;
            for (const scope of new Set(Object.values(imports))) {
              for (const [key, f] of Object.entries(scope)) {
                if (typeof f === 'function' && f.name === '_emscripten_num_logical_cores') {
                  scope[key] = () => 2 * threads;
                  hooked++;
                }
              }
            }
            if (hooked === 0) throw new Error('its glue no longer imports _emscripten_num_logical_cores, which sizes the thread pool');
            WebAssembly.instantiate(readFileSync(binaryPath), imports as WebAssembly.Imports)
              .then(({ instance, module: m }) => receive(instance, m), reject);
          } catch (e) {
            reject(e);
          }
          return {};
        },
        onAbort: (what: unknown) => reject(new Error(`the module aborted: ${String(what)}`)),
        printErr: (text: string) => console.error(`tfjs-backend-wasm: ${text}`),
      };
      factory(config).then(resolve, reject);
    }), 'the threaded module did not start');
    module.tfjs = {
      init: module.cwrap('init', null, []),
      initWithThreadsCount: module.cwrap('init_with_threads_count', null, ['number']),
      getThreadsCount: module.cwrap('get_threads_count', 'number', []),
      registerTensor: module.cwrap('register_tensor', null, ['number', 'number', 'number']),
      disposeData: module.cwrap('dispose_data', null, ['number']),
      dispose: module.cwrap('dispose', null, []),
    };
    // Creates XNNPACK's pool with setThreadsCount's count (tfjs's own constructor).
    const backend = new wasm.BackendWasm(module as never);
    const got = wasm.getThreadsCount();
    if (got !== threads) throw new Error(`its pool runs ${got} thread(s) where ${threads} were asked for`);
    // The pool's workers wait for work forever: they must not keep the process alive.
    for (const w of module.PThread.runningWorkers) w.unref();
    // Spare workers (the glue starts 8) hold a module instance each; nothing starts a thread after the pool.
    for (const w of module.PThread.unusedWorkers) w.terminate();
    module.PThread.unusedWorkers.length = 0;
    started = threads;
    return backend;
  } catch (e) {
    failure = new Error(`tfjs-backend-wasm's threaded build (${threads} threads) did not start in Node: ${(e as Error).message ?? String(e)}`);
    throw failure;
  }
}

function withTimeout<T>(p: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} within ${START_TIMEOUT_MS / 1000} s`)), START_TIMEOUT_MS);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/**
 * The convolution GEMM (src/engine/backend/simd/conv-gemm.ts) needs relaxed
 * SIMD, which Node 20's V8 (11.3) has behind a flag (on by default from V8
 * 11.4: Chrome 114, Node 22); the flag must be set before the module is
 * compiled, and V8's flags are the process's, so worker threads share it. Its
 * helper threads are worker_threads on the backend's shared memory, unref'd so
 * they never keep the process alive.
 */
function prepareConvGemm(): void {
  setFlagsFromString('--experimental-wasm-relaxed-simd');
  setConvThreadSpawner((source, args) => {
    const worker = new Worker(`const { workerData: d } = require('node:worker_threads');\n(${source})(d.module, d.memory, d.control, d.id);`, {
      eval: true,
      workerData: args,
    });
    worker.on('error', (e) => {
      // The calling thread times out on the missing share and reports that; say why here.
      console.error(`cxr-align: a convolution thread failed: ${(e as Error).message}`);
    });
    worker.unref();
  });
}
