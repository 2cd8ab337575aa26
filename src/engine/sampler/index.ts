export { affineGrid, frameCoordinates } from './affine-grid';
export { gridSample, gridSampleDifferentiable } from './grid-sample';
export { warpAffine, composeTheta } from './warp';
