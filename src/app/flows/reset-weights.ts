/** Back to the shipped default (or identity) model; the weights saved in this browser are removed. */
import type { FlowContext } from './context';
import { invalidateResults } from './results';
import { errorText, weightsReplaced } from './shared';

export async function resetWeights(ctx: FlowContext): Promise<void> {
  const s = ctx.store.getState();
  if (ctx.jobs.has('train')) { s.notify('error', 'Stop fine-tuning before resetting the weights.'); return; }
  try {
    const r = await ctx.runner.call('resetWeights', {}).done;
    weightsReplaced(ctx, r);
    s.notify('success', `Back to the ${r.model.kind === 'identity' ? 'identity model' : 'shipped default model'}; saved weights removed from this browser.`);
  } catch (e) {
    s.notify('error', `Reset failed: ${errorText(e)}`);
    return;
  }
  await invalidateResults(ctx, 'weights');
}
