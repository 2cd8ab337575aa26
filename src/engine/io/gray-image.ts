/**
 * The one image type the engine works on. Everything the decoders read (PNG,
 * JPEG, DICOM; gray or colour; 8 or 16 bit) is reduced to this so that the
 * rest of the engine never has to care where a film came from.
 */
export interface GrayImage {
  width: number;
  height: number;
  /** Row-major, values in [0,1], 0 = black (lungs dark on a chest film). */
  data: Float32Array;
  /** Where the image came from (file name), for error messages and reports. */
  source?: string;
  /** Decoder facts worth keeping (format, bit depth, DICOM window, …). */
  meta?: Record<string, unknown>;
}

/** Largest side any decoder accepts; a 16384² float image is already 1 GiB. */
export const MAX_IMAGE_SIDE = 16384;

export function createGrayImage(
  width: number,
  height: number,
  data?: Float32Array,
  source?: string,
): GrayImage {
  const pixels = data ?? new Float32Array(width * height);
  if (pixels.length !== width * height) {
    throw new RangeError(
      `GrayImage data has ${pixels.length} values, ${width}x${height} needs ${width * height}`,
    );
  }
  const img: GrayImage = { width, height, data: pixels };
  if (source !== undefined) img.source = source;
  return img;
}

/**
 * Rec. 601 luma, the weights PIL's "L" mode and most X-ray tooling use, so a
 * colour export of a radiograph maps back to the gray values it was made from.
 */
export function luminance(r: number, g: number, b: number): number {
  return 0.299 * r + 0.587 * g + 0.114 * b;
}
