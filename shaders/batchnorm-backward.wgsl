// batchnorm-backward.wgsl: gradient of inference BatchNorm (running statistics, as torch in eval
// mode) with respect to its input. The forward y = (x - mean) / sqrt(var + eps) * gamma + beta is
// affine in x with a per-channel slope, so
//
//   dx[n,c,i] = dy[n,c,i] * gamma[c] / sqrt(var[c] + eps)
//
// (In the network the BatchNorm is folded into the convolution's epilogue and conv2d-backward
// applies this slope; this kernel serves an unfolded BatchNorm.)
//
// Params (binding 0) is declared in src/kernels/batchnorm-backward.ts, which packs it and emits the struct before this file.
// Bindings (group 0):
//   0 params   : uniform { count: u32, channels: u32, spatial: u32, eps: f32 }
//                count = N*C*spatial, spatial = H*W
//   1 dy       : storage read,  array<f32>   NCHW [N, C, H, W]
//   2 gamma    : storage read,  array<f32>   [C]
//   3 variance : storage read,  array<f32>   [C] (running_var)
//   4 dx       : storage write, array<f32>   NCHW [N, C, H, W]; may not alias dy
// Override constants: WG (threads per workgroup).
// Dispatch: grid1d(count, WG): workgroups (gx, gy, 1) of WG threads; flat index
//   global_id.x + global_id.y * gx * WG; the channel is (i / spatial) % channels.
// Invariants: threads past `count` return without writing.

override WG: u32 = 256u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read> gamma: array<f32>;
@group(0) @binding(3) var<storage, read> variance: array<f32>;
@group(0) @binding(4) var<storage, read_write> dx: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let i = gid.x + gid.y * groups.x * WG;
  if (i >= params.count) { return; }
  let c = (i / params.spatial) % params.channels;
  dx[i] = dy[i] * gamma[c] / sqrt(variance[c] + params.eps);
}
