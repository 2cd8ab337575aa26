import * as tf from '../tf';
import type { Size } from '../affine/affine';
import { DeviceError, guardDevice, isGpuBackend } from '../backend/device-guard';
import { AlignmentLoss } from '../losses/alignment-loss';
import { matrixTargetLoss } from '../losses/matrix-target';
import { paramsToTheta, type AlignmentModel } from '../models/stn/stn';
import { composeTheta, warpAffine } from '../sampler/warp';
import { AdamW, gradientNorm, linearDecay } from './adamw';
import { DEFAULT_AUGMENT, type AugmentSettings } from './augment';
import { batchIndices, disposeBatch, makeBatch, stepRng, type TrainingImage } from './batch';
import { performance } from '../host';

export interface TrainerSettings {
  /** Planned steps: the learning rate decays linearly over them. */
  steps: number;
  batchSize: number;
  lr: number;
  lrEnd: number;
  weightDecay: number;
  augment: AugmentSettings;
  seed: number;
  /** Frame the loss is computed in (may be smaller than the model's output frame). */
  frame: Size;
  /** Size the training films are prepared at (the warp source). */
  srcSize: Size;
  /**
   * Weight of the teacher-matrix term (films' `target`s; see matrixTargetLoss),
   * added to the similarity loss. 0 = similarity only.
   */
  targetWeight: number;
  /**
   * Weight of the self-consistency term: each batch holds every film twice,
   * under two augmentations, and the two predicted frames (augmentation
   * composed in, so both in the film's coordinates) are pulled together.
   * 0 = off (every film once per batch).
   */
  consistencyWeight: number;
}

export function defaultTrainerSettings(model: AlignmentModel, overrides: Partial<TrainerSettings> = {}): TrainerSettings {
  return {
    steps: 1000, batchSize: 8, lr: 1e-4, lrEnd: 1e-6, weightDecay: 1e-4, augment: DEFAULT_AUGMENT, seed: 1,
    frame: model.config.frame, srcSize: { width: 2 * model.config.frame.width, height: 2 * model.config.frame.height },
    targetWeight: 0, consistencyWeight: 0,
    ...overrides,
  };
}

export interface StepReport {
  step: number;
  loss: number;
  parts: Record<string, number>;
  lr: number;
  gradNorm: number;
  ms: number;
  /** The update was skipped because the loss or a gradient was NaN/Inf. */
  skipped: boolean;
  ids: string[];
}

/**
 * One optimisation step of the STN: augment, predict θ, warp (once, with the
 * augmentation composed in), compare with the template, AdamW. The perceptual
 * network is frozen (it is not in the variable list).
 */
export class Trainer {
  readonly optimizer: AdamW;
  /** Steps taken so far (== the index of the next step). */
  step = 0;
  readonly skippedSteps: number[] = [];

  constructor(readonly model: AlignmentModel, readonly loss: AlignmentLoss, readonly settings: TrainerSettings) {
    this.optimizer = new AdamW({ beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: settings.weightDecay });
  }

  lrAt(step: number): number {
    return linearDecay(step, this.settings.steps, this.settings.lr, this.settings.lrEnd);
  }

  /** Train on the batch that (seed, step) picks from `images`. */
  async trainStep(images: TrainingImage[]): Promise<StepReport> {
    return this.trainOn(this.batchFor(images.length).map((i) => images[i]));
  }

  /**
   * Which of n films the next step trains on: seeded, epoch-wise. With the
   * consistency term, half as many films, each twice (two augmentations).
   */
  batchFor(n: number): number[] {
    const s = this.settings;
    if (s.consistencyWeight > 0) {
      const idx = batchIndices(s.seed, this.step, Math.min(Math.max(1, Math.floor(s.batchSize / 2)), n), n);
      return [...idx, ...idx];
    }
    return batchIndices(s.seed, this.step, Math.min(s.batchSize, n), n);
  }

  /**
   * One step, guarded: a GPU device error, or a GPU step whose loss and
   * gradient norm both read back as exactly 0 (what a dropped command buffer
   * leaves), rejects with a DeviceError and leaves the weights, the optimizer's
   * moments and the step counter as they were before it. When the device itself
   * is gone (lost device or context), there is nothing left to restore on it:
   * the caller rebuilds from its host copy.
   */
  async trainOn(batchImages: TrainingImage[]): Promise<StepReport> {
    const snapshot = this.snapshot();
    try {
      const report = await guardDevice(`training step ${this.step}`, () => this.unguardedStep(batchImages));
      tf.dispose(snapshot.tensors);
      return report;
    } catch (e) {
      if (!(e instanceof DeviceError && e.fatal)) this.restore(snapshot);
      else tf.dispose(snapshot.tensors);
      throw e;
    }
  }

  /**
   * Zero-copy: a clone shares its data, and assign() gives a variable new data
   * rather than overwriting the old, so these keep the pre-step values.
   */
  private snapshot(): { step: number; optimizerStep: number; weights: Map<string, tf.Tensor>; moments: Map<string, tf.Tensor>; tensors: tf.Tensor[] } {
    // Every parameter, not just the trainable ones: batch norm's running statistics move in a step too.
    const weights = new Map(this.model.params.entries().map(([n, v]) => [n, tf.clone(v)]));
    const moments = new Map([...this.optimizer.stateTensors()].map(([n, t]) => [n, tf.clone(t)]));
    return { step: this.step, optimizerStep: this.optimizer.step, weights, moments, tensors: [...weights.values(), ...moments.values()] };
  }

  private restore(s: ReturnType<Trainer['snapshot']>): void {
    for (const [n, t] of s.weights) this.model.params.get(n).assign(t);
    this.model.params.markChanged();
    this.optimizer.loadState(s.optimizerStep, s.moments);
    this.step = s.step;
    tf.dispose(s.tensors);
  }

  private async unguardedStep(batchImages: TrainingImage[]): Promise<StepReport> {
    const t0 = performance.now();
    const s = this.settings;
    const rng = stepRng(s.seed, this.step, 2);
    const batch = makeBatch(batchImages, { locSize: this.model.config.locSize, srcSize: s.srcSize }, rng, s.augment);
    // A batch of the same films twice over (batchFor with consistencyWeight) holds this many pairs.
    const half = batchImages.length / 2;
    const pairs = Number.isInteger(half) && half > 0 && batchImages.slice(0, half).every((im, i) => im.id === batchImages[half + i].id) ? half : 0;
    const params = this.model.params;
    const byVarName = new Map(params.entries().filter(([n]) => params.isTrainable(n)).map(([n, v]) => [v.name, n]));
    let parts: Record<string, tf.Scalar> = {};
    const { value, grads } = tf.variableGrads(() => {
      const theta = composeTheta(batch.aug, paramsToTheta(this.model.predictParams(batch.loc, true)));
      const warped = warpAffine(batch.src, theta, s.frame);
      const lv = this.loss.compute(warped);
      parts = Object.fromEntries(Object.entries(lv.parts).map(([k, v]) => [k, tf.keep(v.clone())]));
      let total: tf.Scalar = lv.total;
      if (s.targetWeight > 0 && batch.targets) {
        // θ already holds the augmentation, so the teacher's matrix of the un-augmented film is the target as it is.
        const t = matrixTargetLoss(theta, batch.targets.matrix, batch.targets.mask);
        parts.target = tf.keep(t.clone());
        total = total.add(t.mul(s.targetWeight));
      }
      if (s.consistencyWeight > 0 && pairs) {
        // The same film under two augmentations must give one frame on the film.
        const c = matrixTargetLoss(theta.slice([0, 0, 0], [pairs, 2, 3]), theta.slice([pairs, 0, 0], [pairs, 2, 3]), tf.ones([pairs]) as tf.Tensor1D);
        parts.consistency = tf.keep(c.clone());
        total = total.add(c.mul(s.consistencyWeight));
      }
      return total;
    }, params.trainable());
    disposeBatch(batch);

    const names = Object.keys(parts);
    const gradList = Object.values(grads);
    const summary = tf.tidy(() => tf.stack([
      value,
      gradientNorm(gradList),
      ...names.map((n) => parts[n]),
    ]));
    const nums = await summary.data();
    summary.dispose();
    const [loss, gradNorm] = [nums[0], nums[1]];
    if (loss === 0 && gradNorm === 0 && isGpuBackend()) {
      tf.dispose([value, ...gradList, ...Object.values(parts)]);
      throw new DeviceError('zero-step', tf.getBackend(), `training step ${this.step}: loss and gradient norm both read back as exactly 0 (a dropped GPU command buffer, not convergence)`);
    }
    const lr = this.lrAt(this.step);
    const skipped = !Number.isFinite(loss) || !Number.isFinite(gradNorm);
    if (skipped) {
      this.skippedSteps.push(this.step);
    } else {
      const g = new Map<string, tf.Tensor>();
      for (const [varName, t] of Object.entries(grads)) g.set(byVarName.get(varName)!, t);
      this.optimizer.apply(new Map(params.entries()), g, lr);
      params.markChanged();
    }
    tf.dispose([value, ...gradList, ...Object.values(parts)]);
    const report: StepReport = {
      step: this.step, loss, gradNorm, lr, skipped, ids: batch.ids,
      parts: Object.fromEntries(names.map((n, i) => [n, nums[i + 2]])),
      ms: performance.now() - t0,
    };
    this.step++;
    return report;
  }

  dispose(): void { this.optimizer.dispose(); }
}
