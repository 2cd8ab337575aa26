import { initBackend, tf, type BackendName } from '../src/engine/index';

let current: BackendName | undefined;

export type BackendChoice = 'auto' | 'wasm' | 'cpu';

/**
 * Select the TensorFlow.js backend for a command: WASM (with cxr-align's
 * convolution-gradient kernels) unless it cannot start, then the plain CPU backend.
 */
export async function setupBackend(choice: BackendChoice, log: (m: string) => void = () => {}): Promise<BackendName> {
  const order: BackendName[] = choice === 'auto' ? ['wasm', 'cpu'] : [choice];
  if (current && (choice === 'auto' || choice === current)) return current;
  const name = await initBackend(order);
  current = name;
  // tfjs-backend-cpu greets Node users once (on its first tensor) with advice to install
  // tfjs-node, which cxr-align deliberately does not use; skip the greeting.
  if (name === 'cpu') (tf.backend() as unknown as { firstUse?: boolean }).firstUse = false;
  if (choice === 'auto' && name !== 'wasm') log(`notice: the WASM backend did not start; using the slower ${name} backend`);
  return name;
}
