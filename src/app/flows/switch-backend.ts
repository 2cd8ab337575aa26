/** Compute on another backend (WebGPU, WebGL, WASM, CPU): not during training or export; the results are redone on it. */
import { BACKEND_LABEL } from '../backend-order';
import type { BackendName } from '../worker/protocol';
import { cancelAlign } from './align';
import type { FlowContext } from './context';
import { invalidateResults } from './results';
import { errorText } from './shared';

export async function switchBackend(ctx: FlowContext, name: BackendName): Promise<void> {
  const s = ctx.store.getState();
  if (ctx.jobs.has('train') || ctx.jobs.has('export')) { s.notify('error', 'Wait for fine-tuning or export to finish before switching the backend.'); return; }
  cancelAlign(ctx);
  s.backendSwitching(true);
  try {
    const { error, ...state } = await ctx.runner.call('setBackend', { name }).done;
    s.backendChanged(state);
    s.checked(null);
    if (error) { s.notify('error', error); return; }
    s.notify('success', `Now computing on ${BACKEND_LABEL[name]}.`);
  } catch (e) {
    s.backendSwitching(false);
    s.notify('error', errorText(e));
    return;
  }
  await invalidateResults(ctx, 'backend');
}
