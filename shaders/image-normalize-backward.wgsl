// image-normalize-backward.wgsl: adjoint of image-normalize.wgsl, dx[n,c,h,w] = dy[n,c,h,w] / std[c].
//
// Params (binding 0) is declared in src/kernels/image-normalize-backward.ts, which packs it and emits the struct before this file.
// Bindings (group 0):
//   0 params : uniform { count: u32, spatial: u32, mean: vec4<f32>, stdev: vec4<f32> }  (mean unused)
//   1 dy     : storage read,  array<f32>   NCHW [N, 3, H, W]
//   2 dx     : storage write, array<f32>   NCHW [N, 3, H, W]; may not alias dy
// Override constants: WG (threads per workgroup).
// Dispatch: grid1d(count, WG); the channel of flat index i is (i / spatial) % 3.
// Invariants: threads past `count` return without writing.

override WG: u32 = 256u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read_write> dx: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let i = gid.x + gid.y * groups.x * WG;
  if (i >= params.count) { return; }
  let c = (i / params.spatial) % 3u;
  dx[i] = dy[i] / params.stdev[c];
}
