export { evaluate, identityAligner, perImageCsv, summaryTable, drawPerturbation, type Aligner, type EvalCase, type EvalOptions, type EvalSummary, type PerImage } from './evaluate';
export { canvasMatrix, cutFraction, dice, frameDisagreementPx, frameRegion, pairwiseDice, toBitMask, CANVAS_SCALE, type BitMask } from './metrics';
export { EQUIVARIANCE_PROBES, probeTable, type Probe } from './probes';
