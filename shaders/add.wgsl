// add.wgsl: element-wise sum with an optional fused ReLU (the residual join of a basic block),
//
//   y[i] = act(a[i] + b[i]),   act = max(., 0) when RELU is 1, else identity;
//   yRelu[i] = max(a[i] + b[i], 0) as well when RELU is 2 (the sum and the block output both kept).
//
// Params (binding 0) is declared in src/kernels/add.ts, which packs it and emits the struct before this file.
// Bindings (group 0):
//   0 params : uniform { count: u32 }   number of elements
//   1 a      : storage read,  array<f32>   any layout (element-wise)
//   2 b      : storage read,  array<f32>   same layout as a
//   3 y      : storage write, array<f32>   same layout; may not alias a or b
//   4 yRelu  : storage write, array<f32>   same layout, written when RELU is 2; any small buffer otherwise
// Override constants: RELU (0 none, 1 ReLU, 2 both), WG (threads per workgroup).
// Dispatch: grid1d(count, WG); flat index i = global_id.x + global_id.y * gx * WG.
// Invariants: threads past `count` return without writing.

override RELU: u32 = 0u;
override WG: u32 = 256u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
@group(0) @binding(4) var<storage, read_write> yRelu: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  // 1. Flat element index.
  let i = gid.x + gid.y * groups.x * WG;
  if (i >= params.count) { return; }
  // 2. Sum, then the optional ReLU.
  var v = a[i] + b[i];
  if (RELU == 1u) { v = max(v, 0.0); }
  y[i] = v;
  if (RELU == 2u) { yRelu[i] = max(v, 0.0); }
}
