import { useEffect } from 'react';
import { BACKEND_LABEL } from './backend-order';
import { useApp, useWorkbench } from './context';
import { Notices } from './components/Notices';
import { AlignedPanel } from './panels/aligned/AlignedPanel';
import { BackendPanel } from './panels/backend/BackendPanel';
import { ExportPanel } from './panels/export/ExportPanel';
import { FinetunePanel } from './panels/finetune/FinetunePanel';
import { ImagesPanel } from './panels/load/ImagesPanel';
import { TemplatePanel } from './panels/template/TemplatePanel';
import type { Tab } from './store';

const TABS: { id: Tab; label: string; icon: string }[] = [
  { id: 'images', label: 'Images', icon: '▤' },
  { id: 'aligned', label: 'Aligned pairs', icon: '◧' },
  { id: 'template', label: 'Template', icon: '◎' },
  { id: 'finetune', label: 'Fine-tune', icon: '↯' },
  { id: 'export', label: 'Export & weights', icon: '⇩' },
  { id: 'backend', label: 'Backend', icon: '⚙' },
];

export function App() {
  const tab = useApp((s) => s.tab);
  const boot = useApp((s) => s.boot);
  const setTab = useApp((s) => s.setTab);
  useEffect(() => { document.title = 'cxr-align — chest X-ray alignment workbench'; }, []);
  return (
    <div className="app">
      <TopBar />
      <div className="body">
        <nav className="sidebar" aria-label="Panels">
          {TABS.map((t) => (
            <button key={t.id} type="button" className={`nav-item ${tab === t.id ? 'active' : ''}`} onClick={() => setTab(t.id)} data-testid={`tab-${t.id}`} aria-current={tab === t.id ? 'page' : undefined}>
              <span className="nav-icon" aria-hidden>{t.icon}</span>
              <span className="nav-label">{t.label}</span>
              <NavBadge tab={t.id} />
            </button>
          ))}
          <div className="sidebar-foot">
            <p><strong>Private by design.</strong> Films are decoded and aligned in this tab; nothing is uploaded.</p>
          </div>
        </nav>
        <main className="main" data-testid={`panel-${tab}`}>
          {boot.status === 'failed' ? (
            <div className="banner error" role="alert" data-testid="engine-error">The compute engine is not running: {boot.error}</div>
          ) : null}
          <ModelBanner />
          {tab === 'images' && <ImagesPanel />}
          {tab === 'aligned' && <AlignedPanel />}
          {tab === 'template' && <TemplatePanel />}
          {tab === 'finetune' && <FinetunePanel />}
          {tab === 'export' && <ExportPanel />}
          {tab === 'backend' && <BackendPanel />}
        </main>
      </div>
      <Notices />
    </div>
  );
}

function TopBar() {
  const backend = useApp((s) => s.backend);
  const busy = useApp((s) => s.backendBusy);
  const boot = useApp((s) => s.boot.status);
  const model = useApp((s) => s.model);
  const setTab = useApp((s) => s.setTab);
  return (
    <header className="topbar">
      <div className="brand">
        <span className="logo" aria-hidden>◐</span>
        <div>
          <h1>cxr-align</h1>
          <span className="tagline">Chest X-ray alignment workbench</span>
        </div>
      </div>
      <div className="topbar-status">
        <button type="button" className="chip" onClick={() => setTab('export')} title="The model aligning your films" data-testid="model-chip">
          <span className={`dot ${model?.kind === 'identity' ? 'warn' : 'ok'}`} />
          {model ? model.label : 'loading model…'}
        </button>
        <button type="button" className="chip" onClick={() => setTab('backend')} title="Where the computation runs (click to switch)" data-testid="backend-indicator" data-backend={backend?.active ?? ''}>
          <span className={`dot ${boot === 'ready' && !busy ? 'ok' : boot === 'failed' ? 'err' : 'busy'}`} />
          {backend ? `${BACKEND_LABEL[backend.active]}${busy ? ' · switching…' : ''}` : boot === 'failed' ? 'no backend' : 'starting…'}
        </button>
        <span className="chip quiet" title="No request leaves this page's own origin: no uploads, no telemetry, no CDN." data-testid="privacy-chip">
          <svg width="12" height="12" viewBox="0 0 12 12" aria-hidden><rect x="2" y="5.5" width="8" height="6" rx="1.2" fill="currentColor" /><path d="M4 5.5V4a2 2 0 0 1 4 0v1.5" stroke="currentColor" strokeWidth="1.3" fill="none" /></svg>
          Local only
        </span>
      </div>
    </header>
  );
}

function NavBadge({ tab }: { tab: Tab }) {
  const images = useApp((s) => s.images);
  const alignment = useApp((s) => s.alignment);
  const training = useApp((s) => s.training.status);
  if (tab === 'images') {
    const n = images.order.filter((id) => images.byId[id].status === 'ready').length;
    return n ? <span className="badge">{n}</span> : null;
  }
  if (tab === 'aligned' && alignment.running) return <span className="badge busy">{alignment.done}/{alignment.total}</span>;
  if (tab === 'finetune' && training !== 'idle') return <span className="badge busy">{training}</span>;
  return null;
}

function ModelBanner() {
  const model = useApp((s) => s.model);
  const wb = useWorkbench();
  if (!model) return null;
  if (model.kind === 'identity') {
    return (
      <div className="banner warn" data-testid="identity-banner">
        <strong>Identity model — no trained weights shipped yet.</strong> Films pass through unchanged (resized into the frame) until you fine-tune or load weights; test-time refinement can still fit each film to the template.
        <button type="button" className="link" onClick={() => wb.store.getState().setTab('finetune')}>Fine-tune now</button>
      </div>
    );
  }
  return model.note ? <div className="banner info">{model.note}</div> : null;
}
