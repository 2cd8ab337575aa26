import { FileButton } from '../../components/FileButton';
import { Card, PanelHeader, ProgressBar, Segmented } from '../../components/ui';
import { useApp, useWorkbench } from '../../context';

export function ExportPanel() {
  const wb = useWorkbench();
  const exporting = useApp((s) => s.exporting);
  const options = useApp((s) => s.exportOptions);
  const setOptions = useApp((s) => s.exportOptionsChanged);
  const model = useApp((s) => s.model);
  const training = useApp((s) => s.training.status);
  const readyCount = useApp((s) => s.images.order.filter((id) => s.images.byId[id].status === 'ready').length);
  const frame = model?.frame;

  return (
    <div className="panel">
      <PanelHeader title="Export & weights" subtitle="Everything is packaged in this tab and saved through your browser's download." />
      <div className="two-col">
        <Card title="Aligned films" testId="export-aligned">
          <div className="form-row">
            <span className="field-label">Resolution</span>
            <Segmented<'frame' | 'original'> label="Resolution" value={options.resolution} onChange={(resolution) => setOptions({ resolution })} testId="export-resolution" options={[
              { value: 'frame', label: frame ? `Model frame (${frame.width}×${frame.height})` : 'Model frame' },
              { value: 'original', label: "Each film's own size" },
            ]} />
          </div>
          <div className="form-row">
            <span className="field-label">PNG depth</span>
            <Segmented<'8' | '16'> label="PNG bit depth" value={String(options.bitDepth) as '8' | '16'} onChange={(v) => setOptions({ bitDepth: v === '16' ? 16 : 8 })} options={[
              { value: '8', label: '8-bit' }, { value: '16', label: '16-bit' },
            ]} />
          </div>
          <p className="muted small">The zip holds <code>aligned/*.png</code>, <code>transforms.json</code> and <code>transforms.csv</code> (<code>path,a,b,c,d,e,f,tx,ty,sx,sy,theta,width,height</code>) — the same files the <code>cxr-align align</code> command writes. Each matrix maps output-frame points to input points in PyTorch <code>affine_grid</code> normalized coordinates (align_corners=False), so it applies at any resolution.</p>
          <div className="row gap">
            <button type="button" className="btn primary" disabled={!readyCount || !!exporting.kind} onClick={() => void wb.exportAligned()} data-testid="export-zip">
              Download aligned zip ({readyCount} film{readyCount === 1 ? '' : 's'})
            </button>
            {exporting.kind === 'aligned' ? <button type="button" className="btn ghost" onClick={() => wb.cancelExport()}>Cancel</button> : null}
          </div>
          {exporting.kind === 'aligned' ? (
            <div className="statusline"><span>Writing {exporting.done} / {exporting.total}…</span><ProgressBar value={exporting.done} total={exporting.total} label="Export progress" /></div>
          ) : null}
        </Card>

        <Card title="Model weights" testId="weights">
          <dl className="facts">
            <dt>In use</dt><dd data-testid="model-label">{model?.label ?? '…'}</dd>
            {model ? (<><dt>Encoder input</dt><dd>{model.locSize} × {model.locSize}</dd><dt>Output frame</dt><dd>{model.frame.width} × {model.frame.height}, {model.head} head</dd></>) : null}
            {model?.steps ? (<><dt>Trained</dt><dd>{model.steps} steps</dd></>) : null}
            {model?.savedAt ? (<><dt>Saved</dt><dd>{new Date(model.savedAt).toLocaleString()}</dd></>) : null}
          </dl>
          <p className="muted small">Fine-tuned or loaded weights are kept in this browser (IndexedDB) and come back when you reopen the app. The download is a tfjs model (<code>model.json</code> + <code>.bin</code>) with <code>training.json</code> (settings and loss history).</p>
          <div className="row gap wrap">
            <button type="button" className="btn primary" disabled={!!exporting.kind || training !== 'idle'} onClick={() => void wb.exportWeights()} data-testid="download-weights">
              {exporting.kind === 'weights' ? 'Packaging…' : 'Download weights (.zip)'}
            </button>
            <FileButton className="btn" multiple accept=".zip,.json,.bin" disabled={training !== 'idle'} onFiles={(f) => void wb.loadWeights(f.map((x) => ({ name: x.name, blob: x })))} testId="weights-input">Load weights…</FileButton>
            <button type="button" className="btn ghost" disabled={training !== 'idle' || model?.kind === 'identity' || model?.kind === 'shipped'} onClick={() => void wb.resetWeights()} data-testid="reset-weights">Reset to shipped default</button>
          </div>
        </Card>
      </div>
    </div>
  );
}
