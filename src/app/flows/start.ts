/** Boot: start the engine on the first backend that works, with the model and template it finds. */
import type { BackendName } from '../worker/protocol';
import type { FlowContext } from './context';
import { errorText, templateState } from './shared';

export async function start(ctx: FlowContext, order: BackendName[], wasmThreads?: number): Promise<void> {
  const s = ctx.store.getState();
  try {
    const r = await ctx.runner.call('init', { order, wasmThreads }).done;
    s.booted(r.backend, r.model, templateState(ctx, r.template));
    s.historyReplaced(r.history);
    s.formChanged({ locSize: r.model.locSize });
  } catch (e) {
    s.bootFailed(errorText(e));
  }
}
