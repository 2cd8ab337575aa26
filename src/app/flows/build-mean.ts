/** The mean of the loaded films (after alignment), with a proposed crop for a template. */
import type { FlowContext } from './context';
import { errorText, png, readyIds } from './shared';

export async function buildMean(ctx: FlowContext): Promise<void> {
  const s = () => ctx.store.getState();
  const ids = readyIds(ctx);
  if (ids.length === 0) { s().notify('error', 'Load some films first: the mean is built from the loaded images.'); return; }
  s().meanProgressed({ done: 0, total: ids.length });
  try {
    const m = await ctx.runner.call('buildMean', { ids }, (p) => s().meanProgressed(p)).done;
    const old = s().mean;
    if (old) ctx.platform.revokeUrl(old.url);
    s().meanBuilt({ url: png(ctx, m.png), width: m.width, height: m.height, count: m.count, box: m.proposed, proposed: m.proposed, lungBox: m.lungBox });
  } catch (e) {
    s().meanProgressed(null);
    s().notify('error', errorText(e));
  }
}
