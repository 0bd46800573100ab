// resnet-stream: the public, browser-safe API. Nothing reachable from here imports Node modules.

export { ResNetEngine, type ForwardOptions, type EngineOptions } from './model/engine';
export { type Ablation, type Computability, type KernelChoices, MissingWeightsError, computability } from './model/planner';
export {
  BLOCKS, STEM, IMAGENET_MEAN, IMAGENET_STD, allTapNames, blockTapNames, tapShape, expectedTensors,
  spatialPlan, type Architecture, type BlockSpec, type ConvSpec, type TapName,
} from './model/architecture';
// torchvision's ResNet family: every constructor by name; the loaded one is engine.architecture.
export { FAMILY_NAMES, architectureOf } from './model/family';
export {
  GpuContext, WebGpuUnavailableError, DeviceLostError, type AdapterDescription, type GpuContextOptions,
} from './gpu/context';
export { GpuOutOfMemoryError, GpuLimitError, GpuValidationError, captureGpuErrors } from './gpu/errors';
export { readSafetensors, writeSafetensors, type HostTensor, type TensorMap } from './weights/safetensors';

// Checkpoints, readouts and preprocessing, for pages that drive the engine themselves.
export { type Checkpoint, type LoadOptions, KNOWN_CHECKPOINTS, describeCheckpoint, loadCheckpoint } from './weights/load';
export { type BlockReadouts, type Variant, ALL_BLOCKS, centreIndex, centreValues, defaultBlocks, readoutsFor, tapsNeeded } from './analysis/readouts';
export { type EvalOptions, torchvisionEval } from './image/transforms';
export type { RgbImage } from './image/image';
export type { AnalysisJson, BlockResult, ChannelResult } from './analysis/analyze';

// Browser conveniences (src/browser): weights from a URL / File / bytes with progress, images to
// tensors, engine creation with compatibility-mode fallback, ImageNet class names and top-k.
export {
  type ClassScore, type CreateEngineOptions, type FeatureLevelChoice, type ImageSource, type KernelTableStorage, type LoadWeightsOptions,
  type WebGpuSupport, type WeightsSource, classify, createEngine, describeWebGpu, detectFeatureLevel, forwardImage, imageToRgb, imageToTensor,
  imagenetClassNames, imagesToTensor, kernelTableStorageKey, loadCheckpointFrom, loadCheckpointInto, loadWeightsFrom, readWeightsBytes, topK,
} from './browser/index';
// Feature visualisation for a page: visualiseChannels(engine, { tap, channels, steps, size, seed, onStep, signal }).
export {
  type ChannelImage, type VisualiseOptions, type VisualiseProgress, type VisualiseResult, PAPER_FV, toChannelImage, toImageData,
  visualisable, visualiseChannels,
} from './browser/index';

// Feature visualisation: Lucent's render_vis on WebGPU (backward passes to the input, Fourier
// parameterisation, transforms, Adam), batched over (tap, channel) targets.
export * from './featureviz/index';

// Kernel choice by measurement: a table measured on an adapter (engine.kernelTable, or Node's cache
// file) can be passed to another engine on the same adapter as EngineOptions.kernelTable.
export {
  type KernelMeasurement, type KernelTable, type LayerKernel, type MeasureOptions, KERNEL_TABLE_VERSION, adapterKey, emptyKernelTable,
  kernelTableFits, layerKernels, measureKernels,
} from './model/tune';
export { type ConvGeometry, convShapeKey } from './kernels/conv2d-variants';
