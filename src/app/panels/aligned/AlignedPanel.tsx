import { memo, useEffect, useMemo } from 'react';
import { Empty, PanelHeader, ProgressBar, Segmented } from '../../components/ui';
import { useApp, useWorkbench } from '../../context';
import { BACKEND_LABEL } from '../../backend-order';
import { formatMs } from '../../lib/format';
import type { BackendName } from '../../worker/protocol';
import { POOR_SCORE, scoreLabel } from '../../lib/score';
import { visibleIds, type FilterKey, type ImageItem, type SortKey } from '../../store';
import { CompareView } from './CompareView';

export function AlignedPanel() {
  const wb = useWorkbench();
  const images = useApp((s) => s.images);
  const gallery = useApp((s) => s.gallery);
  const alignment = useApp((s) => s.alignment);
  const gallerySet = useApp((s) => s.gallerySet);
  const ids = useMemo(() => visibleIds({ images, gallery }, POOR_SCORE), [images, gallery]);
  const ready = images.order.filter((id) => images.byId[id].status === 'ready');
  const aligned = ready.filter((id) => images.byId[id].result).length;
  const poor = ready.filter((id) => (images.byId[id].result?.score ?? 0) >= POOR_SCORE).length;
  const doubtful = ready.filter((id) => images.byId[id].result?.doubt?.reasons.length).length;
  const last = alignment.last;

  // ← / → step through the films in the gallery's current order while comparing; Esc closes.
  useEffect(() => {
    const sel = gallery.selectedId;
    if (!sel) return;
    const onKey = (e: KeyboardEvent) => {
      if (e.target instanceof HTMLInputElement || e.target instanceof HTMLSelectElement) return;
      if (e.key === 'Escape') { void wb.select(null); return; }
      if (e.key !== 'ArrowRight' && e.key !== 'ArrowLeft') return;
      const next = ids[ids.indexOf(sel) + (e.key === 'ArrowRight' ? 1 : -1)];
      if (next) { e.preventDefault(); void wb.select(next); }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [gallery.selectedId, ids, wb]);

  return (
    <div className="panel">
      <PanelHeader
        title="Aligned pairs"
        subtitle="Each film before (left) and after alignment (right). Score = 1 − correlation with the template: higher means a worse match."
        actions={<button type="button" className="btn" disabled={!ready.length || alignment.running} onClick={() => void wb.realignAll()}>Re-align all</button>}
      />
      <div className="statusline" data-testid="align-status">
        {alignment.running ? (
          <>
            <span>Aligning {alignment.done} / {alignment.total}…</span>
            <ProgressBar value={alignment.done} total={alignment.total} label="Alignment progress" testId="align-progress" />
            <button type="button" className="btn small ghost" onClick={() => wb.cancelAlign()} data-testid="cancel-align">Cancel</button>
          </>
        ) : last ? (
          <span data-testid="align-summary" data-count={last.count} data-ms={Math.round(last.ms)} data-backend={last.backend}>
            <strong>{aligned} of {ready.length} aligned</strong>{poor ? `, ${poor} flagged poor` : ''}{doubtful ? `, ${doubtful} doubtful (sort “Doubtful first” to see them)` : ''}.{' '}
            <span className="muted">Last run: {last.count} film{last.count === 1 ? '' : 's'} in {formatMs(last.ms)} on {BACKEND_LABEL[last.backend as BackendName] ?? last.backend}
              {last.count ? ` (${Math.round(last.ms / last.count)} ms per film)` : ''}{last.cancelled ? ', cancelled' : ''}.</span>
          </span>
        ) : (
          <span className="muted">{ready.length ? 'Waiting to align…' : 'Load films on the Images panel; alignment starts automatically.'}</span>
        )}
      </div>

      <div className="toolbar">
        <label className="inline">Sort
          <select value={gallery.sort} onChange={(e) => gallerySet({ sort: e.target.value as SortKey })} data-testid="sort">
            <option value="order">Load order</option>
            <option value="name">Name</option>
            <option value="worst">Worst score first</option>
            <option value="best">Best score first</option>
            <option value="doubtful">Doubtful first</option>
          </select>
        </label>
        <Segmented<string> label="Test-time refinement" value={String(alignment.refine)} onChange={(v) => void wb.setRefine(Number(v))} testId="refine" options={[
          { value: '0', label: 'Network only', title: 'use the network\'s prediction as is' },
          { value: '25', label: 'Refine ×25', title: '25 optimisation steps per film on the five parameters against the template (local NCC)' },
          { value: '75', label: 'Refine ×75', title: '75 optimisation steps per film: slower, closer fit' },
        ]} />
        <Segmented<FilterKey> label="Filter" value={gallery.filter} onChange={(filter) => gallerySet({ filter })} testId="filter" options={[
          { value: 'all', label: `All (${ready.length})` },
          { value: 'poor', label: `Poor (${poor})`, title: `score ≥ ${POOR_SCORE}` },
          { value: 'unaligned', label: `Not aligned (${ready.length - aligned})` },
        ]} />
      </div>

      <div className={`aligned-layout ${gallery.selectedId ? 'with-compare' : ''}`}>
        <div className="pair-grid" data-testid="pair-grid">
          {ids.length === 0 ? <Empty>{ready.length ? 'No films match this filter.' : 'No films yet.'}</Empty> : null}
          {ids.map((id) => (
            <PairCard key={id} item={images.byId[id]} selected={gallery.selectedId === id} onSelect={() => void wb.select(gallery.selectedId === id ? null : id)} />
          ))}
        </div>
        {gallery.selectedId ? <CompareView /> : null}
      </div>
    </div>
  );
}

const PairCard = memo(function PairCard({ item, selected, onSelect }: { item: ImageItem; selected: boolean; onSelect(): void }) {
  const r = item.result;
  const label = scoreLabel(r?.score);
  return (
    <button type="button" className={`pair ${selected ? 'selected' : ''}`} onClick={onSelect} data-testid="pair" data-name={item.name}
      data-score={r ? r.score.toFixed(4) : ''} data-params={r ? JSON.stringify(r.params) : ''} title={`${item.name}${r?.doubt?.reasons.length ? ` — ${r.doubt.text}` : ''} — open the compare view`}>
      <div className="pair-images">
        <div className="frame-box">{item.thumbUrl ? <img src={item.thumbUrl} alt="" className="fill" loading="lazy" /> : null}</div>
        <div className="frame-box">{r ? <img src={r.alignedUrl} alt="" loading="lazy" /> : <span className="spinner" aria-label="aligning" />}</div>
      </div>
      <div className="pair-caption">
        <span className="name">{item.name}</span>
        {r?.doubt?.reasons.length ? (
          <span className="doubt" data-testid="doubt" data-reason={r.doubt.reasons.join(' ')} title={r.doubt.text} aria-label={r.doubt.text}>?</span>
        ) : null}
        <span className={`score ${label}`}>{r ? r.score.toFixed(3) : '…'}</span>
      </div>
    </button>
  );
});
