export { Rng } from './rng';
export { AdamW, linearDecay, DEFAULT_ADAMW, type AdamWSettings } from './adamw';
export { drawAugment, DEFAULT_AUGMENT, type AugmentSettings, type AugmentDraw } from './augment';
export { makeBatch, disposeBatch, batchIndices, stepRng, type TrainingImage, type TrainingBatch, type TrainingGeometry } from './batch';
export { Trainer, defaultTrainerSettings, type TrainerSettings, type StepReport } from './trainer';
