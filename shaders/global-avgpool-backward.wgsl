// global-avgpool-backward.wgsl: gradient of the global average pool y[n,c] = mean_{h,w} x[n,c,h,w]
// with respect to x: every element of a plane receives an equal share,
//
//   dx[n,c,h,w] = dy[n,c] / (H * W)
//
// Params (binding 0) is declared in src/kernels/global-avgpool-backward.ts, which packs it and emits the struct before this file.
// Bindings (group 0):
//   0 params : uniform { count: u32, spatial: u32 }   count = N*C*H*W, spatial = H*W
//   1 dy     : storage read,  array<f32>               [N, C]
//   2 dx     : storage write, array<f32>               NCHW [N, C, H, W]
// Override constants: WG (threads per workgroup).
// Dispatch: grid1d(count, WG): workgroups (gx, gy, 1) of WG threads; flat index
//   global_id.x + global_id.y * gx * WG.
// Invariants: threads past `count` return without writing.

override WG: u32 = 256u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read_write> dx: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let i = gid.x + gid.y * groups.x * WG;
  if (i >= params.count) { return; }
  dx[i] = dy[i / params.spatial] / f32(params.spatial);
}
