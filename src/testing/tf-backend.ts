import { initBackend, type BackendName } from '../engine/backend/backends';

/**
 * Tests run on WASM (what Node users get); `cpu` only for tiny reference values.
 * WASM runs on the threads $CXR_WASM_THREADS names (default: every core), as the
 * CLI does; CXR_WASM_THREADS=1 runs the same tests on tfjs's single-threaded build.
 * Node-only: the threaded loader lives in cli/wasm-threads.ts.
 */
export async function useBackend(name: BackendName = (process.env.CXR_TEST_BACKEND as BackendName) ?? 'wasm'): Promise<void> {
  if (name === 'wasm') {
    const { defaultWasmThreads, prepareNodeWasm, threadedWasmFailure } = await import('../../cli/wasm-threads');
    await prepareNodeWasm(defaultWasmThreads());
    try {
      await initBackend([name]);
    } catch (e) {
      throw threadedWasmFailure() ?? e;
    }
    return;
  }
  await initBackend([name]);
}
