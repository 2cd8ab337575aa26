/**
 * cxr-align's engine: DOM-free TypeScript on TensorFlow.js that runs unchanged
 * in Node (CLI, tests), a Web Worker and the page.
 */
export * as tf from './tf';
export * from './affine/affine';
export * from './sampler';
export * from './models/stn';
export * from './models/vgg';
export { addResnet18Params, resnet18Forward, FoldedResnet18, RESNET18_FEATURES } from './models/resnet18/resnet18';
export { ParameterSet } from './models/params';
export * from './losses';
export * from './train';
export * from './align';
export * from './canonical';
export * from './weights';
export * from './io';
export { resizeArea, crop } from './image/resize';
export { cropView, findContentCrop, isWholeFilm, matrixOnView, paramsOnFilm, paramsOnView, WHOLE_FILM, type ContentCrop } from './image/content-crop';
export { syntheticChest, type SyntheticChestOptions } from './image/synthetic-chest';
export { outputName, outputNames } from './export/output-names';
export { initBackend, trySetBackend, wasmConvMode, wasmKernelMode, wasmThreadsCount, type BackendName, type BackendOptions } from './backend/backends';
export { setConvThreadSpawner, type ConvThreadSpawner } from './backend/simd/conv-gemm';
export { DeviceError, guardDevice, assertDeviceUsable, isGpuBackend, type DeviceFailure } from './backend/device-guard';
export * from './eval';
export * from './export/transforms-file';
