/**
 * After the plain alignment is shown: which films to look at first (the
 * engine's doubt rule: the network vs a short refinement, black border).
 * Any new alignment or training cancels it; the films it did not reach are
 * checked after the next alignment.
 */
import type { ImagePatch } from '../store';
import type { FilmDoubt } from '../worker/protocol';
import type { FlowContext } from './context';
import { Batcher, errorText, readyIds } from './shared';

/** Aligned films without a doubt check yet. */
function uncheckedIds(ctx: FlowContext): string[] {
  const { byId } = ctx.store.getState().images;
  return readyIds(ctx).filter((id) => { const r = byId[id].result; return !!r && !r.doubt; });
}

export async function checkDoubts(ctx: FlowContext, ids: string[] = uncheckedIds(ctx)): Promise<void> {
  const { store, runner, jobs } = ctx;
  const s = () => store.getState();
  if (ids.length === 0 || jobs.has('doubts')) return;
  // A doubt belongs to the result it was computed for: one replaced meanwhile (re-aligned, invalidated) does not take it.
  const batch = new Batcher<{ id: string; doubt: FilmDoubt; url: string }>((items) => {
    const patches: ImagePatch[] = [];
    for (const it of items) {
      const r = s().images.byId[it.id]?.result;
      if (r && r.alignedUrl === it.url) patches.push({ id: it.id, result: { ...r, doubt: it.doubt } });
    }
    s().imagesPatched(patches);
  });
  const run = jobs.begin('doubts', runner.call('doubts', { ids }, (e) => {
    const r = s().images.byId[e.id]?.result;
    if (r) batch.push({ id: e.id, doubt: e.doubt, url: r.alignedUrl });
  }));
  try {
    await run.job.done;
  } catch (e) {
    s().notify('error', `The doubt check stopped: ${errorText(e)}`);
  } finally {
    batch.flush();
    run.end();
  }
}
