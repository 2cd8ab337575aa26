/** Align films: the network (and the user's refinement) on every film that has no result yet. */
import type { ImagePatch, ImageResult } from '../store';
import type { FlowContext } from './context';
import { checkDoubts } from './doubts';
import { Batcher, errorText, generation, png, unalignedIds } from './shared';
import { loadView } from './view';

/**
 * Align those of `ids` (default: every ready film) that have no result in this
 * generation. While training, nothing: training's end re-aligns every film.
 * While an alignment runs, they wait in `jobs.alignNext` and are aligned in
 * one job once it ends. Events that arrive after the results were invalidated
 * are dropped; the alignment of the new generation takes over.
 */
export async function align(ctx: FlowContext, ids?: string[]): Promise<void> {
  const { store, runner, platform, jobs } = ctx;
  const s = () => store.getState();
  const todo = unalignedIds(ctx, ids);
  if (todo.length === 0 || jobs.has('train')) return;
  if (jobs.has('align')) { for (const id of todo) jobs.alignNext.add(id); return; }
  // The doubt check waits for the next alignment to finish: the worker runs one job at a time.
  jobs.control('doubts', 'cancel');
  const gen = generation(ctx);
  const current = () => generation(ctx) === gen;
  s().alignmentStarted(todo.length);
  let done = 0;
  const batch = new Batcher<ImagePatch & { result: ImageResult }>((patches) => {
    if (!current()) { for (const p of patches) platform.revokeUrl(p.result.alignedUrl); return; }
    for (const p of patches) {
      const old = s().images.byId[p.id]?.result;
      if (old) platform.revokeUrl(old.alignedUrl);
    }
    s().imagesPatched(patches);
    s().alignmentProgress(done);
  });
  const run = jobs.begin('align', runner.call('align', { ids: todo, refine: s().alignment.refine }, (e) => {
    if (!current()) return;
    done = e.done;
    batch.push({ id: e.id, result: { params: e.params, matrix: e.matrix, score: e.score, alignedUrl: png(ctx, e.aligned) } });
  }));
  let cancelled = false;
  try {
    const r = await run.job.done;
    batch.flush();
    cancelled = r.cancelled;
    s().alignmentFinished({ count: r.aligned, ms: r.ms, backend: r.backend, cancelled: r.cancelled });
  } catch (e) {
    batch.flush();
    s().alignmentFinished({ count: done, ms: 0, backend: s().backend?.active ?? '?', cancelled: true });
    s().notify('error', `Alignment stopped: ${errorText(e)}`);
  } finally {
    run.end();
  }
  // Invalidated meanwhile: the new generation's alignment does the rest.
  if (!current()) return;
  const sel = s().gallery.selectedId;
  if (sel && todo.includes(sel)) void loadView(ctx, sel);
  const next = cancelled ? [] : unalignedIds(ctx, [...jobs.alignNext]);
  jobs.alignNext.clear();
  if (next.length) await align(ctx, next);
  else if (!cancelled && !jobs.has('align') && !jobs.has('train')) void checkDoubts(ctx);
}

/** Stop the alignment (and the doubt check); films waiting for it are dropped. */
export function cancelAlign(ctx: FlowContext): void {
  ctx.jobs.alignNext.clear();
  ctx.jobs.control('doubts', 'cancel');
  ctx.jobs.control('align', 'cancel');
}
