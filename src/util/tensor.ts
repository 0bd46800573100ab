// Tensors on the host, and the small size arithmetic every layer shares: element counts and the
// buffer sizes the GPU pool hands out.

/** A float32 tensor in host memory, NCHW for images and activations. */
export interface HostTensor {
  shape: number[];
  data: Float32Array;
}

/** Named tensors (a state dict, a set of taps), in insertion order. */
export type TensorMap = Map<string, HostTensor>;

/** Number of elements of a tensor of this shape (1 for a scalar). */
export function elementCount(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Buffers are sized and copies aligned in multiples of this (also WebGPU's storage offset alignment). */
export const BUFFER_ALIGNMENT = 256;

/** `bytes` rounded up to a multiple of BUFFER_ALIGNMENT. */
export function alignedBytes(bytes: number): number {
  return Math.ceil(bytes / BUFFER_ALIGNMENT) * BUFFER_ALIGNMENT;
}

/** The size of the pooled buffer that holds `bytes`: aligned, and at least one alignment unit. */
export function pooledBytes(bytes: number): number {
  return Math.max(BUFFER_ALIGNMENT, alignedBytes(bytes));
}

/**
 * Index of the first NaN or infinity in `data`, or -1. A plain loop: TypedArray.findIndex with a
 * callback took 2-3 ms on a 224 x 224 input in Node 20, most of a GPU forward's wall-clock time.
 */
export function firstNonFinite(data: Float32Array): number {
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (v - v !== 0) return i; // NaN - NaN and Inf - Inf are NaN
  }
  return -1;
}
