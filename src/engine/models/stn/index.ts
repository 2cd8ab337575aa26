export { AlignmentModel, paramsToTheta, paramsRows, alignBatch } from './stn';
export { defaultStnConfig, validateStnConfig, DEFAULT_BOUNDS, ORIGINAL_FRAME, type StnConfig, type HeadKind, type HeadBounds } from './config';
