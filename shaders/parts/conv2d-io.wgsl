// conv2d-io.wgsl: the bindings conv2d.wgsl and conv2d-rows.wgsl share, all but the weights
// (binding 2, from conv2d-weights-f32.wgsl or conv2d-weights-f16.wgsl). Params is the kernel's
// own, declared in src/kernels/conv2d.ts.
//
//   0 params : uniform Params
//   1 x      : storage read,  array<f32>   NCHW [N, Cin, H, W], contiguous
//   3 scale  : storage read,  array<f32>   [Cout]
//   4 shift  : storage read,  array<f32>   [Cout]
//   5 y      : storage write, array<f32>   NCHW [N, Cout, OH, OW]; must not alias x
//   6 yRelu  : storage write, array<f32>   max(y, 0), written only when params.relu is 2 (both
//                                          outputs); any small buffer otherwise

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read> scale: array<f32>;
@group(0) @binding(4) var<storage, read> shift: array<f32>;
@group(0) @binding(5) var<storage, read_write> y: array<f32>;
@group(0) @binding(6) var<storage, read_write> yRelu: array<f32>;
