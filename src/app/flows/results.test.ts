/**
 * Staleness (flows/results.ts) against a scripted runner: every call is held
 * until the test answers it, so the order of events is the test's, not the
 * engine's. Timers are faked and never advanced: a flow that polled (a
 * `setTimeout` loop waiting for the alignment to end) would hang here.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createAppStore, type AppStore } from '../store';
import type { AlignEvent, AlignResultSummary, Control } from '../worker/protocol';
import { align } from './align';
import type { FlowContext, Job, Platform, Runner } from './context';
import { Jobs } from './jobs';
import { invalidateResults } from './results';

interface Call {
  method: string;
  params: { ids?: string[] };
  controls: Control[];
  emit(event: unknown): void;
  resolve(value: unknown): void;
}

function scriptedRunner() {
  const calls: Call[] = [];
  const runner: Runner = {
    call(method, params, onProgress) {
      let resolve!: (v: unknown) => void;
      const done = new Promise((r) => { resolve = r; });
      const call: Call = { method, params: params as Call['params'], controls: [], emit: (e) => onProgress?.(e as never), resolve };
      calls.push(call);
      // The doubt check is not what these tests are about: it ends at once.
      if (method === 'doubts') resolve({ checked: 0, doubtful: 0, ms: 0, cancelled: false });
      return { id: calls.length, done, control: (a: Control) => { call.controls.push(a); } } as Job<never>;
    },
    terminate: () => undefined,
  };
  return { runner, calls, aligns: () => calls.filter((c) => c.method === 'align') };
}

/** Let every pending promise continuation run (no timers: they are fake and stay put). */
async function settle(): Promise<void> {
  for (let i = 0; i < 50; i++) await Promise.resolve();
}

const event = (id: string, done: number, total: number): AlignEvent => ({
  kind: 'aligned', id, params: [0, 0, 1, 1, 0], matrix: [[1, 0, 0], [0, 1, 0]], score: 0.1, aligned: new Uint8Array([done]), done, total,
});
const summary = (aligned: number, cancelled: boolean): AlignResultSummary => ({ aligned, ms: 1, cancelled, backend: 'wasm' });

describe('results staleness (scripted runner, no timers)', () => {
  let store: AppStore;
  let ctx: FlowContext;
  let script: ReturnType<typeof scriptedRunner>;
  const created: string[] = [];
  const revoked = new Set<string>();
  const ids = Array.from({ length: 10 }, (_, i) => `f${i + 1}`);
  const s = () => store.getState();

  beforeEach(() => {
    vi.useFakeTimers();
    created.length = 0;
    revoked.clear();
    store = createAppStore();
    script = scriptedRunner();
    let n = 0;
    const platform: Platform = {
      objectUrl: () => { const u = `mem:${++n}`; created.push(u); return u; },
      revokeUrl: (u) => { revoked.add(u); },
      save: () => undefined,
      now: () => 0,
    };
    ctx = { store, runner: script.runner, platform, jobs: new Jobs() };
    s().imagesQueued(ids.map((id) => ({ id, name: `${id}.png`, bytes: 1, status: 'ready' as const })), []);
  });
  afterEach(() => { vi.useRealTimers(); });

  it('cancels the running alignment, waits for its end without polling, drops its late results and re-aligns every film once', async () => {
    const first = align(ctx);
    expect(script.aligns()).toHaveLength(1);
    const old = script.aligns()[0];
    expect(old.params.ids).toEqual(ids);
    for (let i = 0; i < 3; i++) old.emit(event(ids[i], i + 1, 10));
    const oldUrls = [...created];

    const invalidated = invalidateResults(ctx, 'weights');
    expect(s().alignment).toMatchObject({ generation: 1, invalidatedBy: 'weights' });
    expect(old.controls).toEqual(['cancel']);
    await settle();
    // The worker has not answered the cancelled job yet: nothing new is started.
    expect(script.aligns()).toHaveLength(1);

    // Results of the old generation still in flight: dropped, no URL made for them.
    old.emit(event(ids[3], 4, 10));
    old.emit(event(ids[4], 5, 10));
    expect(created).toEqual(oldUrls);
    old.resolve(summary(5, true));
    await settle();
    await first;

    // The old job's end alone starts the new alignment (fake timers never advanced).
    expect(script.aligns()).toHaveLength(2);
    const fresh = script.aligns()[1];
    expect(fresh.params.ids).toEqual(ids);
    for (const id of ids) expect(s().images.byId[id].result).toBeUndefined();
    for (const u of oldUrls) expect(revoked.has(u)).toBe(true);

    ids.forEach((id, i) => fresh.emit(event(id, i + 1, 10)));
    fresh.resolve(summary(10, false));
    await settle();
    await invalidated;

    const alignedIds = script.aligns().slice(1).flatMap((c) => c.params.ids ?? []);
    expect(alignedIds.sort()).toEqual([...ids].sort());
    for (const id of ids) {
      const url = s().images.byId[id].result?.alignedUrl;
      expect(url).toBeDefined();
      expect(oldUrls).not.toContain(url);
    }
    expect(s().alignment.last).toMatchObject({ count: 10, cancelled: false });
    expect(ctx.jobs.has('align')).toBe(false);
  });

  it('two invalidations in a row: one re-alignment, in the latest generation; films asked for meanwhile are aligned in it once', async () => {
    void align(ctx, ids.slice(0, 5));
    const old = script.aligns()[0];
    const a = invalidateResults(ctx, 'refine');
    const b = invalidateResults(ctx, 'user');
    // Asked for while the cancelled job winds down (e.g. files that finished loading).
    void align(ctx, ids.slice(5));
    expect(s().alignment.generation).toBe(2);
    old.resolve(summary(0, true));
    await settle();
    expect(script.aligns()).toHaveLength(2);
    const fresh = script.aligns()[1];
    expect(fresh.params.ids).toEqual(ids);
    ids.forEach((id, i) => fresh.emit(event(id, i + 1, 10)));
    fresh.resolve(summary(10, false));
    await settle();
    await Promise.all([a, b]);
    // The queued request found its films aligned already: no third job.
    expect(script.aligns()).toHaveLength(2);
    for (const id of ids) expect(s().images.byId[id].result).toBeDefined();
  });

  it('a new template: without refinement the scores are redone in place; with it every film is re-aligned', async () => {
    void align(ctx);
    script.aligns()[0].emit(event(ids[0], 1, 1));
    script.aligns()[0].resolve(summary(1, false));
    await settle();
    const url = s().images.byId[ids[0]].result!.alignedUrl;
    const rescored = invalidateResults(ctx, 'template');
    const call = script.calls.at(-1)!;
    expect(call.method).toBe('rescore');
    call.resolve({ scores: { [ids[0]]: 0.5 } });
    await rescored;
    expect(s().images.byId[ids[0]].result).toMatchObject({ score: 0.5, alignedUrl: url });
    expect(s().alignment.generation).toBe(0);

    s().refineChanged(5);
    void invalidateResults(ctx, 'template');
    await settle();
    expect(s().alignment).toMatchObject({ generation: 1, invalidatedBy: 'template' });
    expect(script.aligns().at(-1)!.params).toEqual({ ids, refine: 5 });
  });

  it('during training, alignments wait for its end, which re-aligns every film once', async () => {
    const training = ctx.jobs.begin('train', script.runner.call('train', {} as never));
    void align(ctx);
    await invalidateResults(ctx, 'backend');
    expect(script.aligns()).toHaveLength(0);
    training.end();
    const again = invalidateResults(ctx, 'training');
    await settle();
    expect(script.aligns()).toHaveLength(1);
    script.aligns()[0].resolve(summary(10, false));
    await again;
    expect(script.aligns()).toHaveLength(1);
  });
});
