import { BACKEND_LABEL } from '../../backend-order';
import { useApp, useWorkbench } from '../../context';
import type { TrainFailure } from '../../worker/protocol';

/** A step the GPU failed: what failed, which weights are kept, and where training can go on. */
export function TrainFailureNote({ failure }: { failure: TrainFailure }) {
  const wb = useWorkbench();
  const busy = useApp((s) => s.backendBusy);
  return (
    <div className="error-text" role="alert" data-testid="train-failure" data-backend={failure.backend} data-fatal={String(failure.fatal)}>
      <p>
        Step {failure.step + 1} failed on {BACKEND_LABEL[failure.backend]}: {failure.message}.{' '}
        {failure.fatal
          ? <>The device is gone; now on {BACKEND_LABEL[failure.movedTo!]} with the weights of step {failure.keptStep}.</>
          : <>The weights from before that step are kept.</>}
      </p>
      {failure.offer.length ? (
        <p className="row gap">
          Continue on{' '}
          {failure.offer.map((b) => (
            <button key={b} type="button" className="btn small" disabled={busy} onClick={() => void wb.switchBackend(b)} data-testid={`failover-${b}`}>{BACKEND_LABEL[b]}</button>
          ))}
        </p>
      ) : null}
    </div>
  );
}
