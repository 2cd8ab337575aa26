export { createGrayImage, luminance, MAX_IMAGE_SIDE, type GrayImage } from './gray-image.ts';
export { decodeImage, sniffImageFormat, ImageDecodeError, type ImageFormat } from './decode-image.ts';
export { encodePng, encodePngRgb, type EncodePngOptions } from './encode-png.ts';
