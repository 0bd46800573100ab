// relu.wgsl: y[i] = max(x[i], 0), element-wise over any tensor.
//
// Params (binding 0) is declared in src/kernels/relu.ts, which packs it and emits the struct before this file.
// Bindings (group 0):
//   0 params : uniform { count: u32 }           number of elements
//   1 x      : storage read,  array<f32>         any layout (element-wise)
//   2 y      : storage write, array<f32>         same layout as x; may not alias x
// Override constants: WG (threads per workgroup).
// Dispatch: grid1d(count, WG): workgroups (gx, gy, 1) of WG threads; the flat index is
//   global_id.x + global_id.y * gx * WG, so tensors larger than 65535 * WG elements still fit.
// Invariants: threads past `count` return without writing.

override WG: u32 = 256u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let i = gid.x + gid.y * groups.x * WG;
  if (i >= params.count) { return; }
  y[i] = max(x[i], 0.0);
}
