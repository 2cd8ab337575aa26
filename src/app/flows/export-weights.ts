/** The loaded weights (and their training history) as a zip the CLI and the page both read. */
import type { FlowContext } from './context';
import { errorText } from './shared';

export async function exportWeights(ctx: FlowContext): Promise<void> {
  const s = ctx.store.getState();
  s.exportProgress('weights', 0, 1);
  try {
    const r = await ctx.runner.call('exportWeights', {}).done;
    ctx.platform.save(r.name, [r.bytes], 'application/zip');
    s.notify('success', `Weights saved as ${r.name}.`);
  } catch (e) {
    s.notify('error', `Could not package the weights: ${errorText(e)}`);
  } finally {
    s.exportProgress(null, 0, 0);
  }
}
