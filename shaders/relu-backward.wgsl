// relu-backward.wgsl: gradient of y = max(x, 0) with respect to x, element-wise:
//
//   dx[i] = dy[i] if act[i] > 0, else 0
//
// where act is either the ReLU's output y or its input x (y > 0 exactly when x > 0). At x = 0 the
// gradient is 0, as PyTorch's threshold_backward gives.
//
// Params (binding 0) is declared in src/kernels/relu-backward.ts, which packs it and emits the struct before this file.
// Bindings (group 0):
//   0 params : uniform { count: u32 }           number of elements
//   1 dy     : storage read,  array<f32>         any layout (element-wise)
//   2 act    : storage read,  array<f32>         same layout: the ReLU's output (or input)
//   3 dx     : storage write, array<f32>         same layout; may not alias dy or act
// Override constants: WG (threads per workgroup).
// Dispatch: grid1d(count, WG): workgroups (gx, gy, 1) of WG threads; flat index
//   global_id.x + global_id.y * gx * WG.
// Invariants: threads past `count` return without writing.

override WG: u32 = 256u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read> act: array<f32>;
@group(0) @binding(3) var<storage, read_write> dx: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let i = gid.x + gid.y * groups.x * WG;
  if (i >= params.count) { return; }
  dx[i] = select(0.0, dy[i], act[i] > 0.0);
}
