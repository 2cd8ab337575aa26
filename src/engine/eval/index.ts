export { evaluate, identityAligner, perImageCsv, summaryTable, drawPerturbation, type Aligner, type EvalCase, type EvalOptions, type EvalSummary, type PerImage } from './evaluate';
export { canvasMatrix, cutFraction, dice, frameDisagreementPx, frameRegion, groupDice, pairwiseDice, toBitMask, CANVAS_SCALE, type BitMask } from './metrics';
export { EQUIVARIANCE_PROBES, probeTable, type Probe } from './probes';
export { BORDER_SCALES, CONTENT_CANVAS, contentSeed, drawContentMove, embedding, filmInside, type Embedding } from './content';
export { ceilingFitFrame, fitAffineCeiling, fittedAligner, type CeilingFit, type CeilingOptions } from './ceiling';
export { ceilingResidual, residualParams, residualTable, type CeilingResidual } from './residual';
