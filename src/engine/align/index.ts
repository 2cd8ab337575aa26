export {
  alignImages, alignMatrices, outputMatrices, predictFromLocs, predictMatrices, predictParams, refineForModel, warpImage,
  type AlignBatchOptions, type AlignResult, type BatchMatrices, type RefineSettings,
} from './align';
export { refineBatch, refineParams, type RefineOptions } from './refine';
export { encoderInput, locInput, viewCrop, warpSource, grayToTensor, tensorToGray, type EncoderInput } from './prepare';
export { blackBorderFraction, DOUBT_RULE, doubtFrom, judgeDoubt, type Doubt, type DoubtReason, type DoubtRule } from './doubt';
