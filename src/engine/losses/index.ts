export { pixelMse, globalNcc, localNcc, multiScale, downsample2x } from './similarity';
export { AlignmentLoss, readLoss, disposeLoss, DEFAULT_LOSS, SEED_LOSS, type LossSpec, type LossKind, type LossValue, type LossContext } from './alignment-loss';
export { matrixTargetLoss } from './matrix-target';
export { lungFieldMask, lungFieldWeights, LUNG_FIELD_DEFAULTS, type LungFieldOptions } from './lung-fields';
