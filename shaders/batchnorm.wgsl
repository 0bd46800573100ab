// batchnorm.wgsl: inference BatchNorm, per channel, exactly PyTorch's formula,
//
//   y[n,c,i] = act( (x[n,c,i] - mean[c]) / sqrt(variance[c] + eps) * gamma[c] + beta[c] )
//
// with act = max(., 0) when RELU is 1, else identity; when RELU is 2, y is stored as it is and
// yRelu[n,c,i] = max(y[n,c,i], 0) as well (the stem's bn1 and relu taps both kept). (The model
// folds BatchNorm into the preceding convolution's epilogue; this kernel is the stand-alone form,
// used to check that fold.)
//
// Params (binding 0) is declared in src/kernels/batchnorm.ts, which packs it and emits the struct before this file.
// Bindings (group 0):
//   0 params   : uniform { count: u32, spatial: u32, channels: u32, eps: f32 }
//                count = N * C * spatial elements, spatial = H * W
//   1 x        : storage read,  array<f32>   NCHW [N, C, H, W] (any layout with spatial innermost)
//   2 mean     : storage read,  array<f32>   [C] running mean
//   3 variance : storage read,  array<f32>   [C] running variance
//   4 gamma    : storage read,  array<f32>   [C] weight
//   5 beta     : storage read,  array<f32>   [C] bias
//   6 y        : storage write, array<f32>   same shape as x; may not alias x
//   7 yRelu    : storage write, array<f32>   same shape, written when RELU is 2; any small buffer otherwise
// Override constants: RELU (0 none, 1 ReLU, 2 both), WG (threads per workgroup).
// Dispatch: grid1d(count, WG): workgroups (gx, gy, 1); flat index i = global_id.x + global_id.y * gx * WG.
// Invariants: threads past `count` return without writing; each element is written once.

override RELU: u32 = 0u;
override WG: u32 = 256u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> mean: array<f32>;
@group(0) @binding(3) var<storage, read> variance: array<f32>;
@group(0) @binding(4) var<storage, read> gamma: array<f32>;
@group(0) @binding(5) var<storage, read> beta: array<f32>;
@group(0) @binding(6) var<storage, read_write> y: array<f32>;
@group(0) @binding(7) var<storage, read_write> yRelu: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  // 1. Flat element index.
  let i = gid.x + gid.y * groups.x * WG;
  if (i >= params.count) { return; }
  // 2. Channel of element i: i = (n * C + c) * spatial + s.
  let c = (i / params.spatial) % params.channels;
  // 3. Normalise, scale, shift, in PyTorch's order of operations.
  var v = (x[i] - mean[c]) / sqrt(variance[c] + params.eps) * gamma[c] + beta[c];
  if (RELU == 1u) { v = max(v, 0.0); }
  y[i] = v;
  if (RELU == 2u) { yRelu[i] = max(v, 0.0); }
}
