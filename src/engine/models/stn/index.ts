export { AlignmentModel, paramsToTheta, readParamsRows, alignBatch } from './stn';
export { defaultStnConfig, validateStnConfig, DEFAULT_BOUNDS, ORIGINAL_FRAME, NO_MARGIN, type StnConfig, type HeadKind, type HeadBounds, type FrameMargin } from './config';
export { marginMatrix, outputMatrix, regionMatrix } from './output-matrix';
export { setScaleRange } from './scale-range';
