/**
 * How many values training-mode batch norm normalises per channel at the
 * encoder's deepest stage: the batch times layer4's map (the input / 32 per
 * side in ResNet18). At two (batch 2, 32-px input) a step divides by the spread
 * of two numbers, and training turns chaotic: two steps part by 3% even between
 * WASM and CPU, where at four they agree to 2e-6 (measured, docs in #11's note).
 */
export function deepestBatchNormCount(batchSize: number, locSize: number): number {
  const side = Math.ceil(locSize / 32);
  return batchSize * side * side;
}

/** Fewer values than this make fine-tuning unstable. */
export const MIN_BATCH_NORM_COUNT = 4;
