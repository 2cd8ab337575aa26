/** The aligned films as one zip (with transforms.json/.csv), streamed in chunks from the worker. */
import type { FlowContext } from './context';
import { errorText, readyIds } from './shared';

export async function exportAligned(ctx: FlowContext): Promise<void> {
  const s = () => ctx.store.getState();
  const ids = readyIds(ctx);
  if (ids.length === 0) { s().notify('error', 'Nothing to export yet: load some films first.'); return; }
  const chunks: Uint8Array[] = [];
  s().exportProgress('aligned', 0, ids.length);
  const { order, byId } = s().images;
  const failed = order.map((id) => byId[id]).filter((it) => it.status === 'failed').map((it) => ({ name: it.name, reason: it.error ?? 'could not be read' }));
  const run = ctx.jobs.begin('export', ctx.runner.call('exportAligned', { ids, ...s().exportOptions, failed }, (e) => {
    if (e.kind === 'chunk') chunks.push(e.bytes);
    else s().exportProgress('aligned', e.done, e.total);
  }));
  try {
    const r = await run.job.done;
    ctx.platform.save('cxr-align-aligned.zip', chunks, 'application/zip');
    s().notify('success', `Exported ${r.files} aligned film${r.files > 1 ? 's' : ''} with transforms.json and transforms.csv.`);
  } catch (e) {
    s().notify('error', `Export failed: ${errorText(e)}`);
  } finally {
    run.end();
    s().exportProgress(null, 0, 0);
  }
}

export function cancelExport(ctx: FlowContext): void {
  ctx.jobs.control('export', 'cancel');
}
