// add-backward.wgsl: the fan-out rule of the backward pass, in place. Where a tensor feeds two
// consumers (a block's input feeds conv1 and the skip path; y = a + b sends the same dy to a and
// b), its gradient is the sum of the gradients arriving from each; this kernel adds one more into
// an accumulator and, optionally, applies the backward of the ReLU that produced the tensor:
//
//   acc[i] = acc[i] + g[i]                    (add = 1)
//   acc[i] = acc[i] if act[i] > 0, else 0     (mask = 1; PyTorch's relu gradient at 0 is 0)
//
// (The backward of the addition itself is the identity to both operands: no kernel.)
//
// Params (binding 0) is declared in src/kernels/add-backward.ts, which packs it and emits the struct before this file.
// Bindings (group 0):
//   0 params : uniform { count: u32, add: u32, mask: u32 }
//   1 g      : storage read,       array<f32>   any layout (element-wise); read only when add = 1
//   2 act    : storage read,       array<f32>   the ReLU's output (or input); read only when mask = 1
//   3 acc    : storage read_write, array<f32>   updated in place; may not alias g or act
// Override constants: WG (threads per workgroup).
// Dispatch: grid1d(count, WG): workgroups (gx, gy, 1) of WG threads; flat index
//   global_id.x + global_id.y * gx * WG.
// Invariants: each element is read and written by one thread only; threads past `count` return.

override WG: u32 = 256u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> g: array<f32>;
@group(0) @binding(2) var<storage, read> act: array<f32>;
@group(0) @binding(3) var<storage, read_write> acc: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let i = gid.x + gid.y * groups.x * WG;
  if (i >= params.count) { return; }
  var v = acc[i];
  if (params.add != 0u) { v += g[i]; }
  if (params.mask != 0u) { v = select(0.0, v, act[i] > 0.0); }
  acc[i] = v;
}
