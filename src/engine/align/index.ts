export {
  alignImages, alignMatrices, outputMatrices, predictFromLocs, predictMatrices, predictParams, refineForModel, warpImage,
  type AlignResult, type BatchMatrices, type RefineSettings,
} from './align';
export { refineBatch, refineParams, type RefineOptions } from './refine';
export { locInput, warpSource, grayToTensor, tensorToGray } from './prepare';
export { blackBorderFraction, DOUBT_RULE, doubtFrom, judgeDoubt, type Doubt, type DoubtReason, type DoubtRule } from './doubt';
