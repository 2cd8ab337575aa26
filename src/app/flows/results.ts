/**
 * The one place that owns "the results are stale". Results belong to a
 * generation (the store's `alignment.generation`); an alignment keeps the
 * generation it started in and drops its own events once that is no longer
 * current (flows/align.ts). Weights, template, backend and refinement changes,
 * training's end and the "Re-align all" button all come here.
 */
import type { StaleReason } from '../store';
import { align, cancelAlign } from './align';
import type { FlowContext } from './context';
import { generation, revokeResults, revokeView } from './shared';
import { loadView } from './view';

export type { StaleReason };
export { generation };

/**
 * Every result is stale: start a new generation (dropping the results, their
 * URLs and the compare view), cancel the running alignment and wait for that
 * job to end (its `ended` promise, no polling), then align every ready film
 * once. If another invalidation comes meanwhile, the later one re-aligns.
 *
 * A new template without refinement leaves the geometry as it was (the
 * network does not see the template): only the scores are redone.
 */
export async function invalidateResults(ctx: FlowContext, reason: StaleReason): Promise<void> {
  const s = ctx.store.getState();
  if (reason === 'template' && s.alignment.refine === 0) { await rescore(ctx); return; }
  revokeResults(ctx);
  revokeView(ctx);
  s.resultsInvalidated(reason);
  const mine = generation(ctx);
  cancelAlign(ctx);
  await ctx.jobs.ended('align');
  if (generation(ctx) !== mine) return;
  await align(ctx);
}

/** Scores against the current template, in place; dropped if the results were invalidated meanwhile. */
async function rescore(ctx: FlowContext): Promise<void> {
  const mine = generation(ctx);
  const { scores } = await ctx.runner.call('rescore', {}).done;
  if (generation(ctx) !== mine) return;
  const s = ctx.store.getState();
  s.imagesPatched(Object.entries(scores).flatMap(([id, score]) => {
    const r = s.images.byId[id]?.result;
    return r ? [{ id, result: { ...r, score } }] : [];
  }));
  const sel = s.gallery.selectedId;
  if (sel) await loadView(ctx, sel);
}
