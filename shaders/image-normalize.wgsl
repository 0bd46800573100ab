// image-normalize.wgsl: torchvision's Normalize on a batch of [0, 1] images, the last step before
// the network in render_vis:  y[n,c,h,w] = (x[n,c,h,w] - mean[c]) / std[c].
//
// Params (binding 0) is declared in src/kernels/image-normalize.ts, which packs it and emits the struct before this file.
// Bindings (group 0):
//   0 params : uniform { count: u32, spatial: u32, mean: vec4<f32>, stdev: vec4<f32> }
//              (3 channels; count = N*3*H*W, spatial = H*W; lane 3 unused)
//   1 x      : storage read,  array<f32>   NCHW [N, 3, H, W]
//   2 y      : storage write, array<f32>   NCHW [N, 3, H, W]; may not alias x
// Override constants: WG (threads per workgroup).
// Dispatch: grid1d(count, WG); the channel of flat index i is (i / spatial) % 3.
// Invariants: threads past `count` return without writing.

override WG: u32 = 256u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let i = gid.x + gid.y * groups.x * WG;
  if (i >= params.count) { return; }
  let c = (i / params.spatial) % 3u;
  y[i] = (x[i] - params.mean[c]) / params.stdev[c];
}
