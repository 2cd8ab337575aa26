import { memo, useState } from 'react';
import { FileButton } from '../../components/FileButton';
import { Card, Empty, PanelHeader, ProgressBar } from '../../components/ui';
import { useApp, useWorkbench } from '../../context';
import { formatBytes } from '../../lib/format';
import type { ImageItem } from '../../store';
import { filesFromDrop, namedFiles } from './drop';

const ACCEPT = '.png,.jpg,.jpeg,.dcm,.dicom,image/png,image/jpeg,application/dicom';

export function ImagesPanel() {
  const wb = useWorkbench();
  const order = useApp((s) => s.images.order);
  const byId = useApp((s) => s.images.byId);
  const loading = useApp((s) => s.loading);
  const ready = order.filter((id) => byId[id].status === 'ready');
  const failed = order.filter((id) => byId[id].status === 'failed').map((id) => byId[id]);
  const queued = order.filter((id) => byId[id].status === 'queued');
  const [over, setOver] = useState(false);

  return (
    <div className="panel">
      <PanelHeader
        title="Images"
        subtitle="PNG (8/16-bit), JPEG and DICOM films, or whole folders of them. They are decoded in this tab and never uploaded."
        actions={order.length ? <button type="button" className="btn ghost" onClick={() => void wb.clearImages()}>Clear all</button> : null}
      />
      <div
        className={`dropzone ${over ? 'over' : ''}`}
        data-testid="dropzone"
        onDragOver={(e) => { e.preventDefault(); setOver(true); }}
        onDragLeave={() => setOver(false)}
        onDrop={(e) => {
          e.preventDefault();
          setOver(false);
          void filesFromDrop(e.dataTransfer).then((files) => wb.addFiles(files));
        }}
      >
        <div className="dropzone-art" aria-hidden>⬚</div>
        <p className="dropzone-title">Drop films or folders here</p>
        <p className="muted">PNG · JPEG · DICOM (MONOCHROME1/2, rescale, VOI window)</p>
        <div className="row gap">
          <FileButton className="btn primary" multiple accept={ACCEPT} onFiles={(f) => void wb.addFiles(namedFiles(f))} testId="file-input">Choose files…</FileButton>
          <FileButton className="btn" directory onFiles={(f) => void wb.addFiles(namedFiles(f))} testId="folder-input">Choose a folder…</FileButton>
          <button type="button" className="btn accent" onClick={() => void wb.tryDemo(8)} data-testid="try-it">Try it with demo films</button>
        </div>
        <p className="muted small">“Try it” makes eight films by shifting, zooming and tilting the template at random, so you can watch the tool work without your own data.</p>
      </div>

      {loading.running ? (
        <div className="statusline" data-testid="loading-status">
          <span>Decoding {loading.done} / {loading.total}…</span>
          <ProgressBar value={loading.done} total={loading.total} label="Decoding files" />
          <button type="button" className="btn small ghost" onClick={() => wb.cancelLoading()}>Cancel</button>
        </div>
      ) : null}

      {failed.length ? (
        <Card title={`Files that could not be loaded (${failed.length})`} className="errors" testId="load-errors"
          actions={<button type="button" className="btn small ghost" onClick={() => void wb.dismissFailed()}>Dismiss</button>}>
          <ul className="error-list">
            {failed.map((it) => (
              <li key={it.id} data-testid="load-error"><strong>{it.name}</strong><span>{it.error}</span></li>
            ))}
          </ul>
        </Card>
      ) : null}

      {order.length === 0 ? (
        <Empty>No films loaded yet. Choose files, drop a folder, or press <em>Try it</em>.</Empty>
      ) : (
        <>
          <div className="section-title">
            <h3>{ready.length} film{ready.length === 1 ? '' : 's'} loaded{queued.length ? `, ${queued.length} decoding` : ''}</h3>
          </div>
          <div className="thumb-grid" data-testid="thumb-grid">
            {order.filter((id) => byId[id].status !== 'failed').map((id) => <Thumb key={id} item={byId[id]} />)}
          </div>
        </>
      )}
    </div>
  );
}

const Thumb = memo(function Thumb({ item }: { item: ImageItem }) {
  return (
    <figure className={`thumb ${item.status}`} data-testid="thumb" data-status={item.status} title={item.name}>
      <div className="thumb-img">
        {item.thumbUrl ? <img src={item.thumbUrl} alt={item.name} loading="lazy" decoding="async" /> : <span className="spinner" aria-label="decoding" />}
      </div>
      <figcaption>
        <span className="name">{item.name}</span>
        <span className="muted small">{item.details ?? formatBytes(item.bytes)}</span>
      </figcaption>
    </figure>
  );
});
