// linear.wgsl: fully connected layer in torch.nn.Linear's layout,
//
//   y[n,o] = bias[o] + sum_{i < inFeatures} x[n,i] * W[o,i]
//
// Params (binding 0) is declared in src/kernels/linear.ts, which packs it and emits the struct before this file.
// Bindings (group 0):
//   0 params : uniform { batch: u32, inFeatures: u32, outFeatures: u32 }
//   1 x      : storage read,  array<f32>   [N, inFeatures], row-major
//   2 weight : storage read,  array<f32>   [outFeatures, inFeatures], row-major (torch layout)
//   3 bias   : storage read,  array<f32>   [outFeatures]
//   4 y      : storage write, array<f32>   [N, outFeatures]
// Override constants: WG (threads per workgroup).
// Dispatch: grid1d(N * outFeatures, WG), one thread per output; flat index t = global_id.x +
//   global_id.y * gx * WG, decomposed as t = n * outFeatures + o (neighbouring threads share x[n]).
// Invariants: threads past N * outFeatures return without writing. The dot product keeps 4
//   interleaved float32 partial sums (terms i = 4k + r go to sum r), added at the end.

override WG: u32 = 64u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> weight: array<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  // 1. Output index t = n * outFeatures + o.
  let t = gid.x + gid.y * groups.x * WG;
  if (t >= params.batch * params.outFeatures) { return; }
  let o = t % params.outFeatures;
  let n = t / params.outFeatures;
  let k = params.inFeatures;
  let xRow = n * k;   // x[n, 0]
  let wRow = o * k;   // W[o, 0]

  // 2. Dot product of x[n, :] and W[o, :]: four partial sums over the largest multiple of 4,
  //    then the remaining k % 4 terms.
  var s = vec4<f32>(0.0);
  let k4 = k & ~3u;
  for (var i = 0u; i < k4; i += 4u) {
    let xv = vec4<f32>(x[xRow + i], x[xRow + i + 1u], x[xRow + i + 2u], x[xRow + i + 3u]);
    let wv = vec4<f32>(weight[wRow + i], weight[wRow + i + 1u], weight[wRow + i + 2u], weight[wRow + i + 3u]);
    s += xv * wv;
  }
  for (var i = k4; i < k; i++) {
    s.x += x[xRow + i] * weight[wRow + i];
  }
  // 3. Combine the partial sums and add the bias.
  y[t] = (s.x + s.y) + (s.z + s.w) + bias[o];
}
