import type { LossSpec } from '../losses/alignment-loss';
import { DEFAULT_AUGMENT, type AugmentSettings } from './augment';

/** The augmentation the shipped model's last stages trained with: wide moves, border bands, opacity patches, bright marks. */
const SHIPPED_AUGMENT: AugmentSettings = { ...DEFAULT_AUGMENT, shift: 0.2, scale: 0.1, border: 0.1, opacity: 0.5, marks: 0.5 };

/**
 * Training recipes by name, for the workbench's Fine-tune panel. The CLI
 * spells the same recipe out in options (models/README.md, stage 4).
 *
 * - `adapt` ("Adapt to my films"): the shipped model's stage 4, on the
 *   user's films: teacher matrices from refining the current model toward
 *   the template (50 steps), reproduced with weight 20, beside the windowed
 *   NCC; every film twice per batch under two augmentations with their frames
 *   pulled together (weight 1000); black bands over the encoder input's edges.
 * - `similarity`: the template similarity alone (local NCC or the seed's
 *   perceptual + λ·pixel), with the augmentation of the shipped model's
 *   stages 7-8 (opacity patches and bright marks on the encoder's copy).
 *   `adapt` keeps stage 4's: with them it lost 0.014 of Dice.
 */
export type PresetName = 'adapt' | 'similarity';

export interface PresetRecipe {
  /** Refinement steps behind the teacher matrices (0 = no teacher). */
  teacherRefine: number;
  targetWeight: number;
  consistencyWeight: number;
  augment: AugmentSettings;
  /** The similarity term; `null` = the user's choice (similarity preset). */
  loss: LossSpec | null;
  lrEnd: (lr: number) => number;
}

export const PRESETS: Record<PresetName, PresetRecipe> = {
  adapt: {
    teacherRefine: 50,
    targetWeight: 20,
    consistencyWeight: 1000,
    augment: { ...DEFAULT_AUGMENT, shift: 0.2, scale: 0.1, border: 0.1 },
    loss: { kind: 'lncc', window: 9 },
    lrEnd: (lr) => lr / 100,
  },
  similarity: {
    teacherRefine: 0,
    targetWeight: 0,
    consistencyWeight: 0,
    // The shipped model's own augmentation (stages 7-8): with the seed's milder one, 300 steps
    // from it lost 0.005 of Dice; with this, 0.002 (models/README.md).
    augment: SHIPPED_AUGMENT,
    loss: null,
    lrEnd: (lr) => lr / 100,
  },
};
