// global-avgpool.wgsl: global average pooling, [N, C, H, W] -> [N, C],
//
//   y[n,c] = (1 / (H*W)) * sum_{i < H*W} x[n,c,i]
//
// Params (binding 0) is declared in src/kernels/global-avgpool.ts, which packs it and emits the struct before this file.
// Bindings (group 0):
//   0 params : uniform { planes: u32, spatial: u32 }   planes = N * C, spatial = H * W
//   1 x      : storage read,  array<f32>   NCHW [N, C, H, W]
//   2 y      : storage write, array<f32>   [N, C]
// Override constants: WG (threads per workgroup).
// Dispatch: grid1d(planes, WG), one thread per (n, c) plane; flat index p = global_id.x + global_id.y * gx * WG.
// Invariants: threads past `planes` return without writing. The sum runs in float32 over at most
// H*W terms in order (49 in ResNet18 at 224), then one multiply by the reciprocal count.

override WG: u32 = 64u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  // 1. Plane index p = n * C + c; its elements are x[p * spatial .. (p+1) * spatial).
  let p = gid.x + gid.y * groups.x * WG;
  if (p >= params.planes) { return; }
  let base = p * params.spatial;
  // 2. Sum the plane and divide by its size.
  var sum = 0.0;
  for (var i = 0u; i < params.spatial; i++) {
    sum += x[base + i];
  }
  y[p] = sum / f32(params.spatial);
}
