export { MeanImageBuilder, proposeLungBox, growBox, canonicalFromMean, parseBox, DEFAULT_MARGIN, type Box, type CanonicalChest } from './canonical';
