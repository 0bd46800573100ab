// The browser-safe part of the image path, in one import: decoding (exact JPEG decoder, the browser's
// own decoder), Pillow-exact resize, torchvision's eval transform, and the zoom operators.
// Node-only modules (decode-node.ts, preprocess-node.ts) are deliberately not re-exported here.

export { type RgbImage, ImageDecodeError, MAX_IMAGE_PIXELS, checkRgbImage, cropRgb, sniffImageFormat } from './image';
export { type JpegDecodeOptions, type JpegInfo, decodeJpeg, jpegInfo } from './jpeg';
export { type BrowserImageSource, decodeBrowserBlob, decodeBrowserImage, decodeJpegExact, rgbaToRgb } from './decode-browser';
export { PRECISION_BITS, bilinearCoefficients, resampleBilinearU8, resizeBilinearPil, resizedOutputSize } from './resize';
export {
  type EvalOptions, centerCrop, centerCropBox, normalize, pythonRound, resizeShorter, stackBatch, tensorToRgb, toTensor,
  torchvisionEval, torchvisionEvalBatch, torchvisionEvalImage, torchvisionZoomEval, torchvisionZoomEvalImage,
} from './transforms';
export {
  ZOOM_SWEEP_FACTORS, centerCropTensor, fma32, interpolateBilinear, reflectPad, zoom, zoomCropSize, zoomIn, zoomOut, zoomSweep,
} from './zoom';
