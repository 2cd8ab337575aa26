import { useEffect, useMemo, useState } from 'react';
import { Segmented } from '../../components/ui';
import { useApp, useWorkbench } from '../../context';
import { describeParams } from '../../lib/format';
import { contourOverlay } from '../../lib/outline';
import { scoreLabel } from '../../lib/score';
import type { CompareMode } from '../../store';

/** Template contour lines as a transparent PNG data URL (computed once per template). */
function useOutline(gray: Uint8Array | undefined, width: number, height: number): string | null {
  return useMemo(() => {
    if (!gray || gray.length !== width * height) return null;
    const rgba = contourOverlay(gray, width, height);
    const canvas = document.createElement('canvas');
    canvas.width = width;
    canvas.height = height;
    const ctx = canvas.getContext('2d');
    if (!ctx) return null;
    ctx.putImageData(new ImageData(new Uint8ClampedArray(rgba), width, height), 0, 0);
    return canvas.toDataURL('image/png');
  }, [gray, width, height]);
}

export function CompareView() {
  const wb = useWorkbench();
  const view = useApp((s) => s.view);
  const error = useApp((s) => s.viewError);
  const gallery = useApp((s) => s.gallery);
  const template = useApp((s) => s.template);
  const gallerySet = useApp((s) => s.gallerySet);
  const [blend, setBlend] = useState(0.5);
  const [split, setSplit] = useState(50);
  const rs = template?.info.regionSize;
  const outline = useOutline(template?.info.frameGray, rs?.width ?? 0, rs?.height ?? 0);
  const r = template?.info.region ?? { left: 0, top: 0, width: 1, height: 1 };
  // The template covers the region the model matches; with an output margin that is an inset of the frame.
  const inRegion = { left: `${r.left * 100}%`, top: `${r.top * 100}%`, width: `${r.width * 100}%`, height: `${r.height * 100}%` };
  useEffect(() => { setSplit(50); }, [view?.id]);

  if (error) return <aside className="compare card" data-testid="compare"><p className="error-text">{error}</p></aside>;
  if (!view || !template) return <aside className="compare card" data-testid="compare"><span className="spinner" /> Loading…</aside>;
  const against = gallery.against === 'template';
  const other = against ? template.frameUrl : view.initialUrl;
  const otherLabel = gallery.against === 'template' ? 'Template' : 'Initial';
  const aspect = `${view.frame.width} / ${view.frame.height}`;
  const overlay = gallery.outline && outline ? <img src={outline} alt="" className="layer outline" style={inRegion} data-testid="outline" /> : null;

  return (
    <aside className="compare card" data-testid="compare" data-id={view.id}>
      <div className="card-head">
        <h3 title={view.name}>{view.name}</h3>
        <button type="button" className="btn small ghost" onClick={() => void wb.select(null)} aria-label="Close compare view">Close</button>
      </div>
      <div className="compare-controls">
        <Segmented<CompareMode> label="Compare mode" value={gallery.mode} onChange={(mode) => gallerySet({ mode })} testId="compare-mode" options={[
          { value: 'side', label: 'Side by side' }, { value: 'blend', label: 'Blend' }, { value: 'slider', label: 'Slider' },
        ]} />
        {gallery.mode !== 'side' ? (
          <Segmented<'template' | 'initial'> label="Compare the aligned film with" value={gallery.against} onChange={(against) => gallerySet({ against })} options={[
            { value: 'template', label: 'vs template' }, { value: 'initial', label: 'vs initial' },
          ]} />
        ) : null}
        <label className="inline check"><input type="checkbox" checked={gallery.outline} onChange={(e) => gallerySet({ outline: e.target.checked })} data-testid="outline-toggle" /> Template outline</label>
      </div>

      {gallery.mode === 'side' ? (
        <div className="side-by-side">
          <figure><div className="stage" style={{ aspectRatio: aspect }}><img src={view.initialUrl} alt="initial" className="layer" /></div><figcaption>Initial</figcaption></figure>
          <figure><div className="stage" style={{ aspectRatio: aspect }}><img src={view.alignedUrl} alt="aligned" className="layer" data-testid="compare-aligned" />{overlay}</div><figcaption>Aligned</figcaption></figure>
          <figure><div className="stage" style={{ aspectRatio: aspect }}><img src={template.frameUrl} alt="template" className="layer" style={inRegion} />{overlay}</div><figcaption>Template</figcaption></figure>
        </div>
      ) : gallery.mode === 'blend' ? (
        <div className="single">
          <div className="stage large" style={{ aspectRatio: aspect }}>
            <img src={view.alignedUrl} alt="aligned" className="layer" data-testid="compare-aligned" />
            <img src={other} alt={otherLabel} className="layer" style={{ opacity: blend, ...(against ? inRegion : {}) }} />
            {overlay}
          </div>
          <label className="inline range">Aligned <input type="range" min={0} max={1} step={0.01} value={blend} onChange={(e) => setBlend(+e.target.value)} aria-label="Blend" /> {otherLabel}</label>
        </div>
      ) : (
        <div className="single">
          <div className="stage large" style={{ aspectRatio: aspect }}>
            <img src={other} alt={otherLabel} className="layer" style={against ? inRegion : undefined} />
            <img src={view.alignedUrl} alt="aligned" className="layer" data-testid="compare-aligned" style={{ clipPath: `inset(0 ${100 - split}% 0 0)` }} />
            <div className="divider" style={{ left: `${split}%` }} />
            {overlay}
          </div>
          <label className="inline range">Aligned ◀ <input type="range" min={0} max={100} step={0.5} value={split} onChange={(e) => setSplit(+e.target.value)} aria-label="Slider position" /> ▶ {otherLabel}</label>
        </div>
      )}

      <div className="params" data-testid="params" data-params={JSON.stringify(view.params)}>
        {describeParams(view.params).map((p) => (
          <div key={p.label} className="param" title={p.title}><span className="param-label">{p.label}</span><span className="param-value">{p.value}</span></div>
        ))}
        <div className="param" title="1 − correlation with the template (lower is better)">
          <span className="param-label">score</span><span className={`param-value score ${scoreLabel(view.score)}`}>{view.score.toFixed(3)}</span>
        </div>
      </div>
      <p className="muted small">Original {view.width}×{view.height} px · frame {view.frame.width}×{view.frame.height} · parameters map the frame onto the film (see Export for the convention). ← / → for the previous or next film.</p>
    </aside>
  );
}
