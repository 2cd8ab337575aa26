import { describe, expect, it } from 'vitest';
import { createAppStore, visibleIds } from './store';

const result = (score: number) => ({ params: [0, 0, 1, 1, 0] as [number, number, number, number, number], matrix: [[1, 0, 0], [0, 1, 0]] as [[number, number, number], [number, number, number]], score, alignedUrl: 'u' });

describe('store', () => {
  it('queues, patches, counts progress and keeps untouched items identical (cheap re-renders)', () => {
    const store = createAppStore();
    const s = () => store.getState();
    s().imagesQueued([{ id: 'a', name: 'b.png', bytes: 1, status: 'queued' }, { id: 'b', name: 'a.png', bytes: 1, status: 'queued' }], []);
    const before = s().images.byId.b;
    s().imagesPatched([{ id: 'a', status: 'ready' }]);
    s().loadingProgress(1);
    expect(s().images.byId.a.status).toBe('ready');
    expect(s().images.byId.b).toBe(before);
    expect(s().loading).toEqual({ running: true, done: 1, total: 2 });
  });

  it('sorts by score (unaligned last) and filters poor alignments', () => {
    const store = createAppStore();
    const s = store.getState();
    s.imagesQueued(['x', 'y', 'z', 'w'].map((id) => ({ id, name: `${id}.png`, bytes: 1, status: 'ready' as const })), []);
    s.imagesPatched([{ id: 'x', result: result(0.2) }, { id: 'y', result: result(0.9) }, { id: 'z', result: result(0.6) }]);
    const view = (sort: 'worst' | 'best' | 'name', filter: 'all' | 'poor' | 'unaligned' = 'all') => {
      store.getState().gallerySet({ sort, filter });
      return visibleIds(store.getState(), 0.5);
    };
    expect(view('worst')).toEqual(['y', 'z', 'x', 'w']);
    expect(view('best')).toEqual(['x', 'z', 'y', 'w']);
    expect(view('name', 'poor')).toEqual(['y', 'z']);
    expect(view('name', 'unaligned')).toEqual(['w']);
  });

  it('sorts doubtful films first: more reasons, then the larger disagreement', () => {
    const store = createAppStore();
    const s = store.getState();
    s.imagesQueued(['a', 'b', 'c', 'd', 'e'].map((id) => ({ id, name: `${id}.png`, bytes: 1, status: 'ready' as const })), []);
    const doubt = (reasons: ('disagree' | 'border')[], disagreementPx: number) => ({ reasons, disagreementPx, borderFraction: 0, text: 't' });
    s.imagesPatched([
      { id: 'a', result: { ...result(0.1), doubt: doubt([], 2) } },
      { id: 'b', result: { ...result(0.1), doubt: doubt(['disagree'], 13) } },
      { id: 'c', result: result(0.1) },
      { id: 'd', result: { ...result(0.1), doubt: doubt(['disagree', 'border'], 3) } },
      { id: 'e', result: { ...result(0.1), doubt: doubt(['disagree'], 20) } },
    ]);
    store.getState().gallerySet({ sort: 'doubtful' });
    expect(visibleIds(store.getState(), 0.5)).toEqual(['d', 'e', 'b', 'a', 'c']);
  });

  it('drops every result in a new generation (invalidated or cleared); the fine-tune form asks for the "adapt" preset', () => {
    const store = createAppStore();
    const s = () => store.getState();
    expect(s().form.preset).toBe('adapt');
    expect(s().alignment.generation).toBe(0);
    s().imagesQueued([{ id: 'a', name: 'a.png', bytes: 1, status: 'ready' }], []);
    s().imagesPatched([{ id: 'a', result: result(0.2) }]);
    s().resultsInvalidated('weights');
    expect(s().images.byId.a.result).toBeUndefined();
    expect(s().alignment).toMatchObject({ generation: 1, invalidatedBy: 'weights' });
    s().imagesCleared();
    expect(s().alignment).toMatchObject({ generation: 2, invalidatedBy: 'cleared' });
  });

  it('keeps at most four notices', () => {
    const store = createAppStore();
    for (let i = 0; i < 10; i++) store.getState().notify('info', `n${i}`);
    expect(store.getState().notices.map((n) => n.text)).toEqual(['n6', 'n7', 'n8', 'n9']);
  });
});
