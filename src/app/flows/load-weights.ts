/** Weights from files (a zip or model.json + shards): refused during training; on success every result is stale. */
import type { NamedBlob } from '../lib/files';
import type { FlowContext } from './context';
import { invalidateResults } from './results';
import { errorText, readNamed, weightsReplaced } from './shared';

export async function loadWeights(ctx: FlowContext, files: NamedBlob[]): Promise<boolean> {
  const s = ctx.store.getState();
  if (ctx.jobs.has('train')) { s.notify('error', 'Stop fine-tuning before loading other weights.'); return false; }
  try {
    const r = await ctx.runner.call('loadWeights', { files: await readNamed(files) }).done;
    weightsReplaced(ctx, r);
    s.notify('success', `Weights loaded (${r.model.label}). Re-aligning…`);
  } catch (e) {
    s.notify('error', `Weights not loaded: ${errorText(e)}`);
    return false;
  }
  await invalidateResults(ctx, 'weights');
  return true;
}
