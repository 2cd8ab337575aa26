export { alignImages, predictParams, predictMatrices, warpImage, type AlignResult, type RefineSettings } from './align';
export { refineBatch, refineParams, type RefineOptions } from './refine';
export { locInput, warpSource, grayToTensor, tensorToGray } from './prepare';
