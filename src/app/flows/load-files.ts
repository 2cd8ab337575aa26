/** Picked or dropped files: decoded in the worker (thumbnails batched into the store), then aligned. */
import { splitSidecars, type NamedBlob } from '../lib/files';
import type { ImagePatch } from '../store';
import { align } from './align';
import type { FlowContext } from './context';
import { Batcher, errorText, png } from './shared';

export async function addFiles(ctx: FlowContext, files: NamedBlob[]): Promise<void> {
  const { store, runner, jobs } = ctx;
  const s = () => store.getState();
  const { films, skipped } = splitSidecars(files);
  if (skipped.length) s().notify('info', `Skipped ${skipped.length} file${skipped.length > 1 ? 's' : ''} that are not films (${skipped.slice(0, 3).join(', ')}${skipped.length > 3 ? ', …' : ''}).`);
  if (films.length === 0) return;
  const items = films.map((f) => ({ id: `f${jobs.next('film')}`, name: f.name, bytes: f.blob.size, status: 'queued' as const }));
  s().imagesQueued(items, skipped);
  const decodedIds: string[] = [];
  const batch = new Batcher<ImagePatch>((patches) => {
    s().imagesPatched(patches);
    s().loadingProgress(patches.length);
  });
  const run = jobs.begin('load', runner.call('addFiles', { files: items.map((it, i) => ({ id: it.id, name: it.name, blob: films[i].blob })) }, (e) => {
    if (e.kind === 'decoded') {
      decodedIds.push(e.id);
      batch.push({ id: e.id, status: 'ready', width: e.width, height: e.height, format: e.format, details: e.details, thumbUrl: png(ctx, e.thumb) });
    } else {
      batch.push({ id: e.id, status: 'failed', error: e.reason });
    }
  }));
  try {
    const r = await run.job.done;
    batch.flush();
    if (r.failed > 0) s().notify('error', `${r.failed} of ${items.length} file${items.length > 1 ? 's' : ''} could not be loaded — see the list under “Files that could not be loaded”.`);
    else s().notify('success', `Loaded ${r.decoded} film${r.decoded > 1 ? 's' : ''}.`);
  } catch (e) {
    batch.flush();
    s().notify('error', `Loading stopped: ${errorText(e)}`);
  } finally {
    run.end();
    if (!jobs.has('load')) s().loadingDone();
  }
  await align(ctx, decodedIds.filter((id) => s().images.byId[id]));
}

export function cancelLoading(ctx: FlowContext): void {
  ctx.jobs.control('load', 'cancel');
}
