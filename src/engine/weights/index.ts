export { serializeModel, deserializeModel, modelFiles, readModelFiles, WEIGHTS_FILE, SHARD_BYTES, type ModelJson, type ModelArtifacts, type LoadedModel, type SerializeOptions } from './model-io';
export { encodeFloat16, toHalfBits } from './float16';
