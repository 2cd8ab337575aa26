// jpeg-lossless-decoder-js 2.1.x names release/lossless.d.ts in package.json
// but does not ship it; this declares the one entry point we use.
declare module 'jpeg-lossless-decoder-js' {
  export class Decoder {
    constructor(buffer?: ArrayBuffer | null, numBytes?: number);
    /** Whole JPEG stream in; samples out, interleaved, 8-bit or 16-bit by the frame's precision. */
    decode(buffer?: ArrayBuffer, offset?: number, length?: number, numBytes?: number): Uint8Array | Uint16Array;
  }
}
