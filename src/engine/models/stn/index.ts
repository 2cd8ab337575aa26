export { AlignmentModel, paramsToTheta, readParamsRows, alignBatch } from './stn';
export { defaultStnConfig, validateStnConfig, DEFAULT_BOUNDS, ORIGINAL_FRAME, NO_MARGIN, type StnConfig, type HeadKind, type HeadBounds, type FrameMargin, type InputCrop } from './config';
export { marginMatrix, outputMatrix, regionMatrix } from './output-matrix';
export { setScaleRange } from './scale-range';
