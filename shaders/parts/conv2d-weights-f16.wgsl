// conv2d-weights-f16.wgsl: binding 2 of conv2d.wgsl with the packed weights stored as f16 (the
// 'shader-f16' feature; packConv2dWeightsF16 in src/kernels/conv2d.ts), same layout as
// conv2d-weights-f32.wgsl at half the bytes. Each load is widened to f32, so every product and
// sum stays f32: the error against f32 weights is the weights' rounding to f16 alone, at most
// 2^-11 * |scale[o]| * sum |x * W| per output.

enable f16;

@group(0) @binding(2) var<storage, read> w: array<vec4<f16>>;

/** Packed weight vec4 number i: 4 output channels at one tap, widened to f32. */
fn weight(i: u32) -> vec4<f32> {
  return vec4<f32>(w[i]);
}
