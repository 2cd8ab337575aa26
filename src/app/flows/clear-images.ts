/** "Clear": every film goes, in the worker and on the page (a new results generation: late align events are dropped). */
import { cancelAlign } from './align';
import type { FlowContext } from './context';
import { cancelLoading } from './load-files';
import { revokeView } from './shared';

export async function clearImages(ctx: FlowContext): Promise<void> {
  cancelLoading(ctx);
  cancelAlign(ctx);
  await ctx.runner.call('removeImages', { ids: 'all' }).done;
  const s = ctx.store.getState();
  for (const id of s.images.order) {
    const it = s.images.byId[id];
    if (it.thumbUrl) ctx.platform.revokeUrl(it.thumbUrl);
    if (it.result) ctx.platform.revokeUrl(it.result.alignedUrl);
  }
  revokeView(ctx);
  s.imagesCleared();
}
