export { alignImages, predictParams, warpImage, type AlignResult } from './align';
export { refineParams, type RefineOptions } from './refine';
export { locInput, warpSource, grayToTensor, tensorToGray } from './prepare';
