/** Forget the files that could not be loaded. */
import type { FlowContext } from './context';

export async function dismissFailed(ctx: FlowContext): Promise<void> {
  const { order, byId } = ctx.store.getState().images;
  const failed = order.filter((id) => byId[id].status === 'failed');
  await ctx.runner.call('removeImages', { ids: failed }).done;
  ctx.store.getState().failedDismissed();
}
