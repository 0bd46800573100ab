// Feature visualisation (Lucent's render_vis on WebGPU): the browser-safe part. The Node-only helpers
// (PNG files, fv.json) are in fv-node.ts and the command in src/cli/fv.ts; neither is re-exported here.

export {
  type NetworkFactory, type RenderOptions, type RenderResult, maxRenderBatch, renderVis, resnetFactory, splitRenderBatch,
} from './render';
export {
  COLOR_CORRELATION_SVD_SQRT, FourierImage, SPECTRUM_SD, colourMatrix, initialSpectra, initialSpectrum, rfft2dFrequencies,
  spectrumScale, spectrumWidth, twiddleTable,
} from './param';
export {
  type ImageDraw, type TransformConfig, type TransformStep, LUCENT_ANGLES, LUCENT_SCALES, TransformPipeline, drawTransforms,
  drawTransformsPerImage, jitterForTap, lucentTransformConfig, networkInputSize, possibleInputSizes, transformSteps,
} from './transforms';
export {
  centreCropOffset, interpolateSampling, korniaRotationMatrix, korniaWarpSampling, rotateSampling, scaledExtent, translateSampling,
} from './affine';
export { Rng, mixSeed } from '../util/random';
export { encodePngRgb, rgb8ToTensor, toRgb8 } from './png';
export { type AdamSettings, AdamOptimizer, LUCENT_ADAM } from '../kernels/adam';
export { type BackwardOptions, BackwardPlan, type DifferentiableNetwork, savedTaps } from '../model/backward';
