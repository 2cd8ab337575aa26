export { serializeModel, deserializeModel, modelFiles, readModelFiles, WEIGHTS_FILE, SHARD_BYTES, type ModelJson, type ModelArtifacts, type LoadedModel, type SerializeOptions } from './model-io';
export { encodeFloat16, toHalfBits } from './float16';
export {
  emptyMetadata, modelFolderFiles, readMetadata, readModelFolder, TEMPLATE_FILE,
  type ModelMetadata, type ReadFolder, type StepPoint, type TrainingRecord, type WriteFolderOptions,
} from './model-folder';
export { resolveTemplate, type ResolvedTemplate, type TemplateCandidates, type TemplateOrigin } from './template-rule';
