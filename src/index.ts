// resnet-stream: the public, browser-safe API. Nothing reachable from here imports Node modules.

export { ResNetEngine, type ForwardOptions, type EngineOptions } from './model/engine';
export { type Ablation, type Computability, MissingWeightsError, computability } from './model/forward';
export {
  BLOCKS, STEM, IMAGENET_MEAN, IMAGENET_STD, allTapNames, blockTapNames, tapShape, expectedTensors,
  spatialPlan, type BlockSpec, type ConvSpec, type TapName,
} from './model/architecture';
export {
  GpuContext, WebGpuUnavailableError, DeviceLostError, type AdapterDescription, type GpuContextOptions,
} from './gpu/context';
export { readSafetensors, writeSafetensors, type HostTensor, type TensorMap } from './weights/safetensors';
