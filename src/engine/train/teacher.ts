import { paramsToMatrix, type AffineMatrix } from '../affine/affine';
import { alignMatrices } from '../align/align';
import type { GrayImage } from '../io/gray-image';
import type { AlignmentModel } from '../models/stn/stn';

export interface TeacherOptions {
  template: GrayImage;
  /** Refinement steps from the network's prediction (the shipped recipe: 50). */
  iterations: number;
  /** Long side of the refinement frame (default 128). */
  size?: number;
  batchSize?: number;
  /** After each batch (progress). */
  onBatch?(done: number, total: number): void | Promise<void>;
}

/**
 * Teacher matrices: the model's own prediction refined toward the template by
 * a few Adam steps on windowed NCC — what `align --refine N` computes — as
 * matrices of the matched region, the frame the loss sees (no output margin).
 * Training to reproduce them (Trainer targetWeight) distils the refinement
 * back into the network; it is how the shipped model was made.
 */
export async function teacherMatrices(model: AlignmentModel, locs: readonly Float32Array[], films: readonly GrayImage[], opts: TeacherOptions): Promise<AffineMatrix[]> {
  const batchSize = opts.batchSize ?? 8;
  const out: AffineMatrix[] = [];
  for (let i = 0; i < locs.length; i += batchSize) {
    const r = await alignMatrices(model, locs.slice(i, i + batchSize), {
      films: films.slice(i, i + batchSize), refine: { template: opts.template, iterations: opts.iterations, size: opts.size }, batchSize,
    });
    out.push(...r.raw.map(paramsToMatrix));
    await opts.onBatch?.(Math.min(i + batchSize, locs.length), locs.length);
  }
  return out;
}
