import { useEffect, useState } from 'react';
import { ALL_BACKENDS, BACKEND_KEY, BACKEND_LABEL } from '../../backend-order';
import { Card, PanelHeader } from '../../components/ui';
import { useApp, useWorkbench } from '../../context';
import { formatBytes, formatMs } from '../../lib/format';
import type { BackendName, MemoryInfo } from '../../worker/protocol';

const ABOUT: Record<BackendName, string> = {
  webgpu: 'GPU compute shaders: fastest where the browser and GPU support it.',
  webgl: 'GPU through WebGL 2 textures: widely available, fast for inference.',
  wasm: 'Multi-threaded SIMD WebAssembly on the CPU: dependable everywhere, good for training small models.',
  cpu: 'Plain JavaScript: the slow reference.',
};

export function BackendPanel() {
  const wb = useWorkbench();
  const backend = useApp((s) => s.backend);
  const busy = useApp((s) => s.backendBusy);
  const check = useApp((s) => s.check);
  const [memory, setMemory] = useState<MemoryInfo | null>(null);
  useEffect(() => {
    let live = true;
    const poll = () => wb.runner.call('memory', {}).done.then((m) => { if (live) setMemory(m); }, () => undefined);
    poll();
    const t = setInterval(poll, 2000);
    return () => { live = false; clearInterval(t); };
  }, [wb]);
  const choose = (b: BackendName) => {
    try { localStorage.setItem(BACKEND_KEY, b); } catch { /* private mode: not remembered */ }
    void wb.switchBackend(b);
  };

  return (
    <div className="panel">
      <PanelHeader title="Backend" subtitle="Where TensorFlow.js runs the network. The app tries WebGPU first, then WebGL, WASM and CPU; your choice is remembered." />
      <div className="two-col">
        <Card title="Compute backends" testId="backend-list">
          <ul className="backend-list">
            {ALL_BACKENDS.map((b) => {
              const active = backend?.active === b;
              const tried = backend?.tried[b];
              const state = active ? 'active' : tried === undefined ? (backend?.hints[b] ? 'available' : 'unavailable') : tried === null ? 'available' : 'failed';
              return (
                <li key={b} className={`backend ${state}`} data-testid={`backend-${b}`} data-state={state}>
                  <div>
                    <strong>{BACKEND_LABEL[b]}</strong> <span className={`tag ${state}`}>{state === 'unavailable' ? 'not offered here' : state}</span>
                    <p className="muted small">{ABOUT[b]}</p>
                    {typeof tried === 'string' ? <p className="error-text small">{tried}</p> : null}
                  </div>
                  <button type="button" className="btn small" disabled={active || busy || !backend} onClick={() => choose(b)} data-testid={`use-${b}`}>{active ? 'In use' : 'Use'}</button>
                </li>
              );
            })}
          </ul>
        </Card>
        <Card title="Check and memory" testId="backend-check">
          <p className="muted">Run one small inference (ResNet18 encoder, 32×32 input) and one training step (same weights and seed) here and on {backend?.active === 'wasm' ? 'CPU' : 'WASM'}, and compare the features, the loss and the gradient norm.</p>
          <button type="button" className="btn" disabled={busy || !backend} onClick={() => void wb.checkBackend()} data-testid="check-backend">Check {backend ? BACKEND_LABEL[backend.active] : ''} against {backend?.active === 'wasm' ? 'CPU' : 'WASM'}</button>
          {check ? (
            'error' in check && check.error ? <p className="error-text" data-testid="check-result">{check.error}</p> : 'maxAbsDiff' in check ? (
              <p className={check.ok ? 'ok-text' : 'error-text'} data-testid="check-result" data-ok={String(check.ok)} data-rel={check.relDiff}>
                {check.ok ? '✓ Match' : '✗ Mismatch'}: {BACKEND_LABEL[check.backend]} vs {BACKEND_LABEL[check.reference]}, inference: largest difference {check.maxAbsDiff.toExponential(2)} ({(check.relDiff * 100).toExponential(1)}% of the largest value);{' '}
                <span data-testid="check-train" data-ok={String(check.train.ok)} data-loss={check.train.loss} data-reference-loss={check.train.referenceLoss}>
                  training step: loss {check.train.loss.toPrecision(6)} vs {check.train.referenceLoss.toPrecision(6)}, gradient norm {check.train.gradNorm.toPrecision(4)} vs {check.train.referenceGradNorm.toPrecision(4)}{check.train.ok ? '' : check.train.loss === 0 ? ' (all zeros: this GPU path is broken)' : ' (they disagree)'}
                </span>; {formatMs(check.ms)}.
              </p>
            ) : null
          ) : null}
          <dl className="facts">
            <dt>Tensors in memory</dt><dd data-testid="num-tensors">{memory ? memory.numTensors : '…'}</dd>
            <dt>Tensor memory</dt><dd>{memory ? formatBytes(memory.numBytes) : '…'}</dd>
            <dt>Films held</dt><dd>{memory ? `${memory.images} (small copies; full resolution is re-read from the file when needed)` : '…'}</dd>
            <dt>Isolation</dt><dd>{globalThis.crossOriginIsolated ? 'cross-origin isolated (WASM threads on)' : 'not isolated (WASM runs single-threaded)'}</dd>
            <dt>WASM threads</dt><dd data-testid="wasm-threads">{backend?.wasmThreads == null ? 'not started' : backend.wasmThreads}</dd>
            <dt>WASM training kernels</dt><dd data-testid="wasm-kernels">{backend?.wasmKernels ?? 'not started'}</dd>
            <dt>WASM convolutions</dt><dd data-testid="wasm-convolutions">{backend?.wasmConvolutions ?? 'not started'}</dd>
          </dl>
        </Card>
      </div>
    </div>
  );
}
