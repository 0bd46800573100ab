// conv2d-weights-f32.wgsl: binding 2 of the conv2d kernels, the packed weights as f32.
//
//   2 w : storage read, array<vec4<f32>>  packed [ceil(Cout/4), Cin, K, K] of vec4: vec4 number
//         (v*Cin + ci)*K*K + ky*K + kx holds W[4v .. 4v+3, ci, ky, kx]; channels past Cout are 0
//         (packConv2dWeights in src/kernels/conv2d.ts; conv2d-backward reads the same layout)

@group(0) @binding(2) var<storage, read> w: array<vec4<f32>>;

/** Packed weight vec4 number i: 4 output channels at one tap. */
fn weight(i: u32) -> vec4<f32> {
  return w[i];
}
