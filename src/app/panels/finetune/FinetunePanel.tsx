import { useState } from 'react';
import { FileButton } from '../../components/FileButton';
import { Card, Field, PanelHeader, ProgressBar, Segmented } from '../../components/ui';
import { useApp, useWorkbench } from '../../context';
import { formatDuration } from '../../lib/format';
import { etaSeconds, stepsPerSecond } from '../../lib/series';
import type { TrainForm } from '../../store';
import type { LossChoice, TrainPreset } from '../../worker/protocol';
import { PRESET_TEXT } from './presets';
import { deepestBatchNormCount, MIN_BATCH_NORM_COUNT } from '../../lib/batch-norm';
import { LossChart } from './LossChart';
import { TrainFailureNote } from './TrainFailureNote';

const FRAMES = [
  { label: '32 × 40 (quick check)', width: 32, height: 40 },
  { label: '64 × 80', width: 64, height: 80 },
  { label: '128 × 160', width: 128, height: 160 },
  { label: '256 × 320 (full frame)', width: 256, height: 320 },
];
const LOC_SIZES = [32, 64, 96, 128, 160, 192, 224, 256];

export function FinetunePanel() {
  const wb = useWorkbench();
  const form = useApp((s) => s.form);
  const change = useApp((s) => s.formChanged);
  const training = useApp((s) => s.training);
  const vgg = useApp((s) => s.vgg);
  const model = useApp((s) => s.model);
  const readyCount = useApp((s) => s.images.order.filter((id) => s.images.byId[id].status === 'ready').length);
  const [smoothing, setSmoothing] = useState(0.6);
  const running = training.status !== 'idle';
  const rate = stepsPerSecond(training.stepTimes);
  const eta = etaSeconds(training.done, training.total, rate);
  const num = (k: keyof TrainForm, parse: (v: string) => number = Number) => ({
    value: String(form[k] as number),
    disabled: running,
    onChange: (e: React.ChangeEvent<HTMLInputElement>) => change({ [k]: parse(e.target.value) } as Partial<TrainForm>),
  });
  const frameKey = `${form.frame.width}x${form.frame.height}`;

  return (
    <div className="panel">
      <PanelHeader title="Fine-tune" subtitle={<>Train the alignment network on the loaded films, in this tab. Currently: <strong>{model?.label ?? '…'}</strong>.</>} />
      <div className="finetune-layout">
        <Card title="Settings" testId="train-settings">
          <div className="form-grid">
            <Field label="Steps"><input type="number" min={1} step={1} {...num('steps', (v) => Math.max(1, Math.round(+v)))} data-testid="steps" /></Field>
            <Field label="Batch size"><input type="number" min={1} max={64} step={1} {...num('batchSize', (v) => Math.max(1, Math.round(+v)))} data-testid="batch" /></Field>
            <Field label="Learning rate"><input type="number" min={0} step="any" {...num('lr')} data-testid="lr" /></Field>
            <Field label="Localization size" hint="side of the encoder's input">
              <select value={form.locSize} disabled={running} onChange={(e) => change({ locSize: +e.target.value })} data-testid="locsize">
                {LOC_SIZES.map((l) => <option key={l} value={l}>{l} × {l}</option>)}
              </select>
            </Field>
            <Field label="Training frame" hint="where the loss is computed">
              <select value={frameKey} disabled={running} onChange={(e) => { const f = FRAMES.find((x) => `${x.width}x${x.height}` === e.target.value)!; change({ frame: { width: f.width, height: f.height } }); }} data-testid="frame">
                {FRAMES.map((f) => <option key={f.label} value={`${f.width}x${f.height}`}>{f.label}</option>)}
              </select>
            </Field>
            <Field label="Films used" hint={`of ${readyCount} loaded`}><input type="number" min={1} step={1} {...num('maxImages', (v) => Math.max(1, Math.round(+v)))} /></Field>
          </div>
          {deepestBatchNormCount(form.batchSize, form.locSize) < MIN_BATCH_NORM_COUNT ? (
            <p className="error-text small" data-testid="bn-warning">
              At batch {form.batchSize} and a {form.locSize}-px input, batch norm's deepest layer sees only {deepestBatchNormCount(form.batchSize, form.locSize)} value(s) per channel: steps after the first become erratic. Use a batch of at least {Math.ceil(MIN_BATCH_NORM_COUNT / deepestBatchNormCount(1, form.locSize))} or a larger input.
            </p>
          ) : null}
          <div className="form-row">
            <span className="field-label">Recipe</span>
            <Segmented<TrainPreset> label="Recipe" value={form.preset} onChange={(preset) => !running && change({ preset })} testId="preset" options={[
              { value: 'adapt', label: PRESET_TEXT.adapt.label, title: PRESET_TEXT.adapt.title },
              { value: 'similarity', label: PRESET_TEXT.similarity.label, title: PRESET_TEXT.similarity.title },
            ]} />
          </div>
          <p className="muted small" data-testid="preset-note">{PRESET_TEXT[form.preset].note}</p>
          {form.preset === 'similarity' ? (<>
          <div className="form-row">
            <span className="field-label">Loss</span>
            <Segmented<LossChoice> label="Loss" value={form.loss} onChange={(loss) => !running && change({ loss })} testId="loss" options={[
              { value: 'lncc', label: 'Local NCC', title: 'windowed normalized cross-correlation with the template (default)' },
              { value: 'perceptual', label: 'Perceptual + λ·pixel', title: "the seed paper's loss: VGG relu3_3 features + λ × pixel MSE" },
            ]} />
          </div>
          {form.loss === 'perceptual' ? (
            <div className="form-grid">
              <Field label="λ (pixel weight)"><input type="number" min={0} step="any" {...num('lambda')} data-testid="lambda" /></Field>
              <Field label="Perceptual network">
                <select value={form.perceptual} disabled={running} onChange={(e) => change({ perceptual: e.target.value as 'builtin' | 'loaded' })} data-testid="perceptual">
                  <option value="builtin">Built-in (random VGG16)</option>
                  <option value="loaded" disabled={!vgg}>Loaded VGG weights{vgg ? '' : ' (none yet)'}</option>
                </select>
              </Field>
              <div className="field">
                <span className="field-label">VGG weights</span>
                <FileButton className="btn small" multiple accept=".json,.bin,.zip" onFiles={(f) => void wb.loadVgg(f.map((x) => ({ name: x.name, blob: x })))} disabled={running}>Load tfjs/Keras model…</FileButton>
                <span className="field-hint">{vgg ? vgg.description : 'model.json + .bin files, or a zip'}</span>
              </div>
            </div>
          ) : null}
          </>) : null}
          <label className="inline check"><input type="checkbox" checked={form.augment} disabled={running} onChange={(e) => change({ augment: e.target.checked })} data-testid="augment" /> Augmentation (random shifts, zoom, tilt, brightness/contrast)</label>
          <div className="row gap controls">
            {training.status === 'idle' ? (
              <button type="button" className="btn primary" disabled={!readyCount} onClick={() => void wb.train()} data-testid="train-start">Start fine-tuning</button>
            ) : (
              <>
                {training.status === 'paused'
                  ? <button type="button" className="btn primary" onClick={() => wb.resumeTraining()} data-testid="train-resume">Resume</button>
                  : <button type="button" className="btn" disabled={training.status !== 'running'} onClick={() => wb.pauseTraining()} data-testid="train-pause">Pause</button>}
                <button type="button" className="btn danger" disabled={training.status === 'stopping'} onClick={() => wb.stopTraining()} data-testid="train-stop">Stop</button>
              </>
            )}
            {!readyCount ? <span className="muted small">Load films or press “Try it” on the Images panel first.</span> : null}
          </div>
        </Card>

        <Card title="Progress" testId="train-progress">
          <div className="stats">
            <div className="stat"><span className="stat-label">Status</span><span className="stat-value" data-testid="train-status">{training.status === 'preparing' ? `${training.prepared.phase === 'teacher' ? 'teacher' : 'preparing'} ${training.prepared.done}/${training.prepared.total}` : training.status}</span></div>
            <div className="stat"><span className="stat-label">Step</span><span className="stat-value" data-testid="train-step">{training.done} / {training.total || form.steps}</span></div>
            <div className="stat"><span className="stat-label">Steps/s</span><span className="stat-value">{rate ? rate.toFixed(2) : '—'}</span></div>
            <div className="stat"><span className="stat-label">ETA</span><span className="stat-value">{training.status === 'running' ? formatDuration(eta) : '—'}</span></div>
            <div className="stat"><span className="stat-label">Last loss</span><span className="stat-value">{training.points.length ? training.points[training.points.length - 1].loss.toPrecision(4) : '—'}</span></div>
          </div>
          <ProgressBar value={training.status === 'preparing' ? training.prepared.done : training.done} total={training.status === 'preparing' ? training.prepared.total : training.total || 1} label="Training progress" testId="train-bar" />
          {training.error ? <p className="error-text" role="alert">{training.error}</p> : null}
          {training.last?.failure && training.status === 'idle' ? <TrainFailureNote failure={training.last.failure} /> : null}
          {training.last && training.status === 'idle' ? (
            <p className="muted small" data-testid="train-result">{training.last.stopped ? 'Stopped' : 'Finished'} after {training.last.steps} steps. {training.last.saved ? 'Weights saved in this browser.' : ''}</p>
          ) : null}
          <div className="chart-head">
            <h4>Loss</h4>
            <label className="inline range small">Smoothing <input type="range" min={0} max={0.99} step={0.01} value={smoothing} onChange={(e) => setSmoothing(+e.target.value)} /> {smoothing.toFixed(2)}</label>
          </div>
          {training.points.length ? <LossChart points={training.points} smoothing={smoothing} /> : <div className="chart empty" data-testid="loss-chart" data-points={0}>The loss curve appears here once training starts.</div>}
        </Card>
      </div>

      <Card title={`Samples (every ${form.sampleEvery} steps)`} testId="samples">
        {training.samples.length === 0 ? <p className="muted">Input, aligned and template for one film appear here as training runs.</p> : (
          <div className="sample-strip" data-testid="sample-strip">
            {training.samples.map((s) => (
              <figure key={`${s.step}-${s.inputUrl}`} className="sample" data-testid="sample">
                <div className="sample-imgs">
                  <img src={s.inputUrl} alt="input" title="input" />
                  <img src={s.alignedUrl} alt="aligned" title="aligned" />
                  <img src={s.templateUrl} alt="template" title="template" />
                </div>
                <figcaption>step {s.step + 1} · input · aligned · template</figcaption>
              </figure>
            ))}
          </div>
        )}
      </Card>
    </div>
  );
}
