/**
 * The only error the decoders let out. The message names the file and says in
 * plain words what is wrong with it, because it ends up in front of a user
 * who dropped a file on the page or passed it on the command line.
 */
export class ImageDecodeError extends Error {
  constructor(
    public file: string,
    public reason: string,
    options?: { cause?: unknown },
  ) {
    super(`${file}: ${reason}`, options);
    this.name = 'ImageDecodeError';
  }
}

/**
 * Thrown inside the decoders, which do not know the file name; decodeImage
 * turns it into an ImageDecodeError. Kept separate so that a library's own
 * exception can never be mistaken for one of our reasons.
 */
export class DecodeFailure extends Error {
  constructor(
    public reason: string,
    options?: { cause?: unknown },
  ) {
    super(reason, options);
    this.name = 'DecodeFailure';
  }
}

export function fail(reason: string, cause?: unknown): never {
  throw new DecodeFailure(reason, cause === undefined ? undefined : { cause });
}

/**
 * Libraries here throw Errors, bare strings (dicom-parser) and plain objects
 * ({exception, dataSet} from dicom-parser); get a one-line text out of any.
 */
export function describeError(e: unknown): string {
  if (e instanceof Error) {
    const cause = (e as { cause?: unknown }).cause;
    // fast-png wraps fflate's error with an unhelpful "…the data:" message.
    if (cause !== undefined && /:\s*$/.test(e.message)) return `${e.message} ${describeError(cause)}`;
    return e.message || e.name;
  }
  if (typeof e === 'string') return e;
  if (e && typeof e === 'object') {
    const inner = (e as { exception?: unknown }).exception;
    if (inner !== undefined) return describeError(inner);
    try {
      return JSON.stringify(e);
    } catch {
      return String(e);
    }
  }
  return String(e);
}

/** Runs a library call; anything it throws becomes a DecodeFailure with context. */
export function guard<T>(context: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof DecodeFailure) throw e;
    fail(`${context}: ${describeError(e)}`, e);
  }
}

/**
 * Rejects sizes no chest film has, before anything the size of the image is
 * allocated: a corrupt header must not take the page down with it.
 */
export function checkDimensions(width: number, height: number, maxSide: number): void {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1 || width > maxSide || height > maxSide) {
    fail(`image dimensions ${width}x${height} out of range (each side must be 1..${maxSide} px)`);
  }
}
