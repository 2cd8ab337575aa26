/** The backend check: the active backend against a reference one (WASM, or CPU when WASM is active). */
import type { BackendName } from '../worker/protocol';
import type { FlowContext } from './context';
import { errorText } from './shared';

export async function checkBackend(ctx: FlowContext): Promise<void> {
  const s = ctx.store.getState();
  const active = s.backend?.active;
  if (!active) return;
  if (ctx.jobs.has('train') || ctx.jobs.has('export')) { s.notify('error', 'Wait for fine-tuning or export to finish first.'); return; }
  const reference: BackendName = active === 'wasm' ? 'cpu' : 'wasm';
  s.backendSwitching(true);
  try {
    s.checked(await ctx.runner.call('checkBackend', { reference }).done);
  } catch (e) {
    s.checked({ error: errorText(e) });
  } finally {
    s.backendSwitching(false);
  }
}
