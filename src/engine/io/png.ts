import { decode as fastPngDecode } from 'fast-png';
import { checkDimensions, fail, guard } from './errors.ts';
import { MAX_IMAGE_SIDE, luminance, type GrayImage } from './gray-image.ts';

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

export function isPng(bytes: Uint8Array): boolean {
  return bytes.length >= 8 && PNG_SIGNATURE.every((b, i) => bytes[i] === b);
}

interface PngHeader {
  width: number;
  height: number;
  depth: number;
  colorType: number;
  interlace: number;
}

const COLOR_TYPES: Record<number, { name: string; depths: number[] }> = {
  0: { name: 'gray', depths: [1, 2, 4, 8, 16] },
  2: { name: 'RGB', depths: [8, 16] },
  3: { name: 'palette', depths: [1, 2, 4, 8] },
  4: { name: 'gray+alpha', depths: [8, 16] },
  6: { name: 'RGBA', depths: [8, 16] },
};

/**
 * Checks the chunk layout before fast-png sees the file: fast-png reads past
 * the end of a cut-off file and, for some cuts, returns an image with the
 * missing rows silently zeroed. Walking the chunks is cheap and lets the
 * message say where the file breaks.
 */
function checkPngStructure(bytes: Uint8Array): PngHeader {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let pos = 8;
  let header: PngHeader | undefined;
  let sawIdat = false;
  let sawPalette = false;
  while (true) {
    if (pos + 8 > bytes.length) {
      fail(`corrupt or truncated PNG: file ends at byte ${bytes.length} without an IEND chunk (file cut short?)`);
    }
    const length = view.getUint32(pos);
    const type = String.fromCharCode(bytes[pos + 4]!, bytes[pos + 5]!, bytes[pos + 6]!, bytes[pos + 7]!);
    if (!/^[A-Za-z]{4}$/.test(type)) fail(`corrupt or truncated PNG: garbage where a chunk should start (byte ${pos})`);
    if (pos + 12 + length > bytes.length) {
      fail(
        `corrupt or truncated PNG: chunk ${type} at byte ${pos} needs ${length + 12} bytes, only ${bytes.length - pos} left (file cut short?)`,
      );
    }
    if (!header && type !== 'IHDR') fail('corrupt or truncated PNG: first chunk is not IHDR');
    if (type === 'IHDR') {
      if (length !== 13) fail('corrupt or truncated PNG: IHDR chunk has the wrong length');
      header = {
        width: view.getUint32(pos + 8),
        height: view.getUint32(pos + 12),
        depth: bytes[pos + 16]!,
        colorType: bytes[pos + 17]!,
        interlace: bytes[pos + 20]!,
      };
    } else if (type === 'IDAT') {
      sawIdat = true;
    } else if (type === 'PLTE') {
      sawPalette = true;
    } else if (type === 'IEND') {
      break;
    }
    pos += 12 + length;
  }
  if (!header) fail('corrupt or truncated PNG: no IHDR chunk');
  if (!sawIdat) fail('corrupt or truncated PNG: no image data (IDAT chunk)');
  const ct = COLOR_TYPES[header.colorType];
  if (!ct) fail(`corrupt or truncated PNG: unknown colour type ${header.colorType}`);
  if (!ct.depths.includes(header.depth)) {
    fail(`corrupt or truncated PNG: bit depth ${header.depth} is not allowed for ${ct.name} images`);
  }
  if (header.colorType === 3 && !sawPalette) fail('corrupt or truncated PNG: palette image without a PLTE chunk');
  checkDimensions(header.width, header.height, MAX_IMAGE_SIDE);
  // fast-png's Adam7 path assumes whole-byte pixels.
  if (header.interlace === 1 && header.depth < 8) {
    fail(`unsupported PNG: interlaced (Adam7) ${ct.name} image with ${header.depth}-bit samples`);
  }
  return header;
}

export function decodePngGray(bytes: Uint8Array): Omit<GrayImage, 'source'> {
  const header = checkPngStructure(bytes);
  const png = guard('corrupt or truncated PNG', () => fastPngDecode(bytes, { checkCrc: true }));
  const { width, height } = png;
  if (width !== header.width || height !== header.height) fail('corrupt or truncated PNG: size changed while decoding');
  const n = width * height;
  const out = new Float32Array(n);
  const depth = png.depth;
  const src = png.data;

  if (header.colorType === 3 || depth < 8) {
    // Sub-byte samples arrive packed, each row padded to a whole byte.
    const rowBytes = Math.ceil((width * depth) / 8);
    if (src.length < rowBytes * height) fail('corrupt or truncated PNG: image data too short');
    const perByte = 8 / depth;
    const mask = (1 << depth) - 1;
    const palette = png.palette;
    let lut: Float32Array;
    if (header.colorType === 3) {
      if (!palette || palette.length === 0) fail('corrupt or truncated PNG: palette image without a palette');
      lut = new Float32Array(256);
      for (let i = 0; i < palette.length && i < 256; i++) {
        const c = palette[i]!;
        lut[i] = luminance(c[0] ?? 0, c[1] ?? 0, c[2] ?? 0) / 255;
      }
    } else {
      lut = new Float32Array(mask + 1);
      for (let i = 0; i <= mask; i++) lut[i] = i / mask;
    }
    for (let y = 0; y < height; y++) {
      const row = y * rowBytes;
      for (let x = 0; x < width; x++) {
        let idx: number;
        if (depth === 8) idx = src[row + x]!;
        else {
          const byte = src[row + Math.floor(x / perByte)]!;
          const shift = 8 - depth * ((x % perByte) + 1);
          idx = (byte >> shift) & mask;
        }
        out[y * width + x] = lut[idx]!;
      }
    }
  } else {
    const channels = png.channels;
    if (src.length < n * channels) fail('corrupt or truncated PNG: image data too short');
    // 16-bit PNGs are scaled to the full 0..65535 range by the format itself (sBIT only annotates).
    const scale = 1 / (depth === 16 ? 65535 : 255);
    if (channels <= 2) {
      // Alpha is ignored: a radiograph's gray levels are the signal, whatever the transparency.
      for (let i = 0, j = 0; i < n; i++, j += channels) out[i] = src[j]! * scale;
    } else {
      for (let i = 0, j = 0; i < n; i++, j += channels) {
        out[i] = luminance(src[j]!, src[j + 1]!, src[j + 2]!) * scale;
      }
    }
  }
  return {
    width,
    height,
    data: out,
    meta: {
      format: 'png',
      bitDepth: depth,
      colorType: COLOR_TYPES[header.colorType]!.name,
      ...(header.colorType === 0 || header.colorType === 4 ? {} : { convertedFromColor: true }),
    },
  };
}
