export { randomVgg, vggFromLayersModel, vggFeatures, VGG_LAYERS, type PerceptualNet, type VggPreprocessing } from './vgg';
