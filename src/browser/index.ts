// Browser conveniences of the library: weights from URLs and files with progress, images to tensors,
// engine creation with WebGPU compatibility-mode fallback, class names and top-k.

export {
  type LoadWeightsOptions, type WeightsSource, loadCheckpointFrom, loadCheckpointInto, loadWeightsFrom, readWeightsBytes,
} from './weights';
export { type ImageSource, imageToRgb, imageToTensor, imagesToTensor } from './image';
export {
  type CreateEngineOptions, type FeatureLevelChoice, type KernelTableStorage, type WebGpuSupport, classify, createEngine, describeWebGpu,
  detectFeatureLevel, forwardImage, kernelTableStorageKey,
} from './engine';
export { type ClassScore, imagenetClassNames, topK } from './classes';
export {
  type ChannelImage, type VisualiseOptions, type VisualiseProgress, type VisualiseResult, PAPER_FV, toChannelImage, toImageData,
  visualisable, visualiseChannels,
} from './featureviz';
