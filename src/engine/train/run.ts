import type { TrainingImage } from './batch';
import type { StepReport, Trainer } from './trainer';

/** The training films, by index: in memory (the workbench) or spilled to a file (the CLI's large folders). */
export interface FilmSet {
  readonly size: number;
  get(i: number): TrainingImage;
}

export interface RunHooks {
  /** Before every step: wait out a pause here; false stops the run. */
  beforeStep?(step: number): boolean | Promise<boolean>;
  onStep?(report: StepReport): void | Promise<void>;
  /** A sample is due: before the first step of a fresh run, every `sampleEvery` steps, and after the last. */
  onSample?(step: number): void | Promise<void>;
  /** A checkpoint is due (every `checkpointEvery` steps, not at the end: the caller saves the final state itself). */
  onCheckpoint?(step: number): void | Promise<void>;
}

export interface RunPlan {
  /** Train until the trainer's step counter reaches this. */
  until: number;
  /** 0 = no samples. */
  sampleEvery: number;
  /** 0 = no intermediate checkpoints. */
  checkpointEvery?: number;
}

export interface RunOutcome {
  /** Steps taken by this call. */
  steps: number;
  /** Ended by `beforeStep` before `until`. */
  stopped: boolean;
}

/**
 * One training run: the step loop both hosts use (the CLI's `train`, the
 * workbench's fine-tune). Which films a step trains on follows from (seed,
 * step) alone (Trainer.batchFor), so a run resumed at step k continues the
 * same sequence. A failed step (a GPU DeviceError) propagates with the
 * trainer's state as it was before that step.
 */
export async function runTraining(trainer: Trainer, films: FilmSet, plan: RunPlan, hooks: RunHooks = {}): Promise<RunOutcome> {
  const first = trainer.step;
  let sampledAt = -1;
  const sample = async () => {
    if (plan.sampleEvery > 0 && hooks.onSample && sampledAt !== trainer.step) {
      sampledAt = trainer.step;
      await hooks.onSample(trainer.step);
    }
  };
  if (first === 0) await sample();
  let stopped = false;
  while (trainer.step < plan.until) {
    if (hooks.beforeStep && !(await hooks.beforeStep(trainer.step))) { stopped = true; break; }
    const idx = trainer.batchFor(films.size);
    const report = await trainer.trainOn(idx.map((i) => films.get(i)));
    await hooks.onStep?.(report);
    if (plan.sampleEvery > 0 && trainer.step % plan.sampleEvery === 0) await sample();
    if (plan.checkpointEvery && trainer.step % plan.checkpointEvery === 0 && trainer.step < plan.until) await hooks.onCheckpoint?.(trainer.step);
  }
  if (trainer.step > first) await sample();
  return { steps: trainer.step - first, stopped };
}
