/** The compare view: select a film, and its full-resolution before/after from the worker. */
import type { ViewResult } from '../worker/protocol';
import type { FlowContext } from './context';
import { errorText, png, revokeView } from './shared';

export async function select(ctx: FlowContext, id: string | null): Promise<void> {
  ctx.store.getState().gallerySet({ selectedId: id });
  if (id) await loadView(ctx, id);
  else revokeView(ctx);
}

/** (Re)load the selected film's view; a later selection wins the race. */
export async function loadView(ctx: FlowContext, id: string): Promise<void> {
  const s = () => ctx.store.getState();
  const mine = ctx.jobs.next('view');
  try {
    const v: ViewResult = await ctx.runner.call('view', { id }).done;
    if (mine !== ctx.jobs.last('view') || s().gallery.selectedId !== id) return;
    revokeView(ctx);
    s().viewLoaded({
      id: v.id, name: v.name, width: v.width, height: v.height, frame: v.frame, params: v.params, score: v.score,
      initialUrl: png(ctx, v.initial), alignedUrl: png(ctx, v.aligned), initialGray: v.initialGray, alignedGray: v.alignedGray,
    });
  } catch (e) {
    if (mine === ctx.jobs.last('view')) s().viewFailed(errorText(e));
  }
}
