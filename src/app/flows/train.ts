/**
 * Fine-tuning on the loaded films: steps batched into the chart, samples
 * shown, pause/resume/stop; at the end (however it ends) every result is stale.
 */
import { BACKEND_LABEL } from '../backend-order';
import type { StepPoint } from '../worker/protocol';
import { cancelAlign } from './align';
import type { FlowContext } from './context';
import { invalidateResults } from './results';
import { Batcher, errorText, png, readyIds } from './shared';

export async function train(ctx: FlowContext): Promise<void> {
  const { store, runner, platform, jobs } = ctx;
  const s = () => store.getState();
  if (jobs.has('train')) return;
  const ids = readyIds(ctx);
  if (ids.length === 0) { s().notify('error', 'Load some films (or press “Try it”) before fine-tuning.'); return; }
  cancelAlign(ctx);
  const form = s().form;
  s().trainingPreparing(0, Math.min(ids.length, form.maxImages));
  const steps = new Batcher<{ point: StepPoint; t: number }>((items) => {
    s().trainingSteps(items.map((i) => i.point), items.map((i) => i.t));
  }, 100);
  const run = jobs.begin('train', runner.call('train', { ...form, ids }, (e) => {
    switch (e.kind) {
      case 'preparing': s().trainingPreparing(e.done, e.total, e.phase); break;
      case 'started': s().trainingStarted(e.total); s().modelChanged(e.model); break;
      case 'step': steps.push({ point: e.point, t: platform.now() }); break;
      case 'sample':
        steps.flush();
        s().trainingSample({ step: e.step, name: e.name, inputUrl: png(ctx, e.input), alignedUrl: png(ctx, e.aligned), templateUrl: png(ctx, e.template) });
        break;
      case 'state': steps.flush(); s().trainingState(e.state); break;
    }
  }));
  try {
    const r = await run.job.done;
    steps.flush();
    s().trainingFinished(r);
    s().modelChanged(r.model);
    if (r.saveError) s().notify('error', r.saveError);
    if (r.failure) {
      const f = r.failure;
      if (f.movedTo) s().backendChanged(await runner.call('setBackend', { name: f.movedTo }).done);
      s().notify('error', `Fine-tuning stopped at step ${f.step + 1}: ${f.message}. ${f.fatal
        ? `Now on ${BACKEND_LABEL[f.movedTo!]}, with the weights of step ${f.keptStep}.`
        : `The weights from before that step are kept.`}${f.offer.length ? ` Continue on ${f.offer.map((b) => BACKEND_LABEL[b]).join(' or ')} from the Fine-tune panel.` : ''}`);
    } else if (r.steps > 0) {
      s().notify('success', `Fine-tuning ${r.stopped ? 'stopped' : 'finished'} after ${r.steps} step${r.steps > 1 ? 's' : ''}${r.saved ? '; the weights are saved in this browser' : ''}. Re-aligning with the new weights…`);
    }
  } catch (e) {
    steps.flush();
    s().trainingFailed(errorText(e));
    s().notify('error', `Fine-tuning failed: ${errorText(e)}`);
  } finally {
    run.end();
  }
  await invalidateResults(ctx, 'training');
}

export function pauseTraining(ctx: FlowContext): void { ctx.jobs.control('train', 'pause'); }

export function resumeTraining(ctx: FlowContext): void { ctx.jobs.control('train', 'resume'); }

export function stopTraining(ctx: FlowContext): void {
  if (!ctx.jobs.has('train')) return;
  ctx.store.getState().trainingState('stopping');
  ctx.jobs.control('train', 'stop');
}
