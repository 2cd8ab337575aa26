import { initBackend, type BackendName } from '../engine/backend/backends';

/** Tests run on WASM (what Node users get); `cpu` only for tiny reference values. */
export async function useBackend(name: BackendName = (process.env.CXR_TEST_BACKEND as BackendName) ?? 'wasm'): Promise<void> {
  await initBackend([name]);
}
