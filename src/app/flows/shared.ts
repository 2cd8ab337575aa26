/** What several flows share: batching progress into the store, error text, object URLs, film lists. */
import type { NamedBlob } from '../lib/files';
import type { AppState } from '../store';
import type { ModelChange, NamedBytes, TemplateInfo } from '../worker/protocol';
import type { FlowContext } from './context';

/** Collects progress events and applies them to the store in one update per tick, so 1,000 thumbnails mean a few dozen renders, not 1,000. */
export class Batcher<T> {
  private items: T[] = [];
  private timer: ReturnType<typeof setTimeout> | null = null;
  constructor(private readonly apply: (items: T[]) => void, private readonly delayMs = 80) {}
  push(item: T): void {
    this.items.push(item);
    this.timer ??= setTimeout(() => this.flush(), this.delayMs);
  }
  flush(): void {
    if (this.timer) { clearTimeout(this.timer); this.timer = null; }
    if (this.items.length === 0) return;
    const items = this.items;
    this.items = [];
    this.apply(items);
  }
}

export const errorText = (e: unknown) => (e instanceof Error ? e.message : String(e));

export function png(ctx: FlowContext, bytes: Uint8Array): string {
  return ctx.platform.objectUrl(bytes, 'image/png');
}

export function templateState(ctx: FlowContext, t: TemplateInfo): NonNullable<AppState['template']> {
  const { png: image, framePng, ...info } = t;
  return { info, url: png(ctx, image), frameUrl: png(ctx, framePng) };
}

export function revokeTemplate(ctx: FlowContext): void {
  const t = ctx.store.getState().template;
  if (t) { ctx.platform.revokeUrl(t.url); ctx.platform.revokeUrl(t.frameUrl); }
}

export function revokeView(ctx: FlowContext): void {
  const v = ctx.store.getState().view;
  if (v) { ctx.platform.revokeUrl(v.initialUrl); ctx.platform.revokeUrl(v.alignedUrl); }
}

/** Every film's aligned thumbnail (before its result is dropped). */
export function revokeResults(ctx: FlowContext): void {
  const { order, byId } = ctx.store.getState().images;
  for (const id of order) {
    const r = byId[id].result;
    if (r) ctx.platform.revokeUrl(r.alignedUrl);
  }
}

/** The results' generation (flows/results.ts owns it). */
export const generation = (ctx: FlowContext): number => ctx.store.getState().alignment.generation;

export function readyIds(ctx: FlowContext): string[] {
  const { order, byId } = ctx.store.getState().images;
  return order.filter((id) => byId[id].status === 'ready');
}

/** Ready films without a result in this generation: what an alignment is for. */
export function unalignedIds(ctx: FlowContext, among: readonly string[] = readyIds(ctx)): string[] {
  const { byId } = ctx.store.getState().images;
  return among.filter((id) => byId[id]?.status === 'ready' && !byId[id].result);
}

export async function readNamed(files: NamedBlob[]): Promise<NamedBytes[]> {
  return Promise.all(files.map(async (f) => ({ name: f.name, bytes: new Uint8Array(await f.blob.arrayBuffer()) })));
}

/** Other weights are in (loaded, reset): their model, template, history and encoder size. */
export function weightsReplaced(ctx: FlowContext, r: ModelChange): void {
  const s = ctx.store.getState();
  s.modelChanged(r.model);
  revokeTemplate(ctx);
  s.templateChanged(templateState(ctx, r.template));
  s.historyReplaced(r.history);
  s.formChanged({ locSize: r.model.locSize });
}
