import { FileButton } from '../../components/FileButton';
import { Card, Field, PanelHeader, ProgressBar } from '../../components/ui';
import { useApp, useWorkbench } from '../../context';
import type { Box } from '../../worker/protocol';
import { CropEditor } from './CropEditor';
import { roundBox } from './crop';

export function TemplatePanel() {
  const wb = useWorkbench();
  const template = useApp((s) => s.template);
  const mean = useApp((s) => s.mean);
  const meanProgress = useApp((s) => s.meanProgress);
  const readyCount = useApp((s) => s.images.order.filter((id) => s.images.byId[id].status === 'ready').length);
  const setBox = useApp((s) => s.meanBoxChanged);

  return (
    <div className="panel">
      <PanelHeader title="Template" subtitle="The canonical chest every film is aligned to. Scores and fine-tuning compare against it." />
      <div className="two-col">
        <Card title="Template in use" testId="template-current"
          actions={
            <div className="row gap">
              <FileButton className="btn small" accept=".png,.jpg,.jpeg,.dcm" onFiles={(f) => void wb.loadTemplateFile({ name: f[0].name, blob: f[0] })} testId="template-input">Load template image…</FileButton>
              <button type="button" className="btn small ghost" disabled={template?.info.source === 'shipped'} onClick={() => void wb.resetTemplate()}>Use shipped</button>
            </div>
          }>
          {template ? (
            <div className="template-view">
              <figure>
                <div className="stage template-stage" style={{ aspectRatio: `${template.info.frame.width} / ${template.info.frame.height}` }}>
                  <img src={template.frameUrl} alt="template in the model frame" className="layer" style={{
                    left: `${template.info.region.left * 100}%`, top: `${template.info.region.top * 100}%`,
                    width: `${template.info.region.width * 100}%`, height: `${template.info.region.height * 100}%`,
                  }} />
                </div>
                <figcaption>In the model frame ({template.info.frame.width}×{template.info.frame.height}{template.info.region.width < 1 || template.info.region.height < 1 ? ', inside its output margin' : ''})</figcaption>
              </figure>
              <figure>
                <div className="stage template-stage" style={{ aspectRatio: `${template.info.width} / ${template.info.height}` }}>
                  <img src={template.url} alt="template as loaded" className="layer" />
                </div>
                <figcaption>As {template.info.source === 'mean' ? 'cropped' : 'loaded'} ({template.info.width}×{template.info.height})</figcaption>
              </figure>
              <dl className="facts">
                <dt>Source</dt><dd data-testid="template-label">{template.info.label}</dd>
              </dl>
              {template.info.source === 'generated' ? <p className="banner warn">models/canonical-chest.png is missing, so a generated stand-in is used.</p> : null}
            </div>
          ) : <span className="spinner" />}
        </Card>

        <Card title="Build from the loaded films" testId="template-mean">
          <p className="muted">The mean of the loaded films, cropped to the lungs plus a margin. The box is proposed from the mean; drag it or its corners, or type exact pixels.</p>
          <div className="row gap">
            <button type="button" className="btn primary" disabled={!readyCount || !!meanProgress} onClick={() => void wb.buildMean()} data-testid="build-mean">
              Build mean of {readyCount} film{readyCount === 1 ? '' : 's'}
            </button>
            {mean ? <button type="button" className="btn" onClick={() => void wb.useMeanTemplate()} data-testid="use-mean">Use crop as template</button> : null}
          </div>
          {meanProgress ? <ProgressBar value={meanProgress.done} total={meanProgress.total} label="Building the mean" /> : null}
          {mean ? (
            <div className="mean-editor">
              <CropEditor url={mean.url} width={mean.width} height={mean.height} box={mean.box} lungBox={mean.lungBox} onChange={(b) => setBox(roundBox(b))} />
              <div className="box-fields">
                {(['x', 'y', 'width', 'height'] as (keyof Box)[]).map((k) => (
                  <Field key={k} label={k}>
                    <input type="number" value={Math.round(mean.box[k])} min={0} max={k === 'x' || k === 'width' ? mean.width : mean.height}
                      onChange={(e) => setBox({ ...mean.box, [k]: Math.max(0, +e.target.value) })} data-testid={`box-${k}`} />
                  </Field>
                ))}
                <button type="button" className="btn small ghost" onClick={() => setBox(mean.proposed)}>Reset to proposal</button>
              </div>
              <p className="muted small">Mean of {mean.count} film{mean.count === 1 ? '' : 's'} at {mean.width}×{mean.height}; yellow = crop, dashed blue = detected lung box.</p>
            </div>
          ) : null}
        </Card>
      </div>
    </div>
  );
}
