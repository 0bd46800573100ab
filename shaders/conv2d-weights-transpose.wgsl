// conv2d-weights-transpose.wgsl: the weights conv2d-backward.wgsl reads, made once per convolution
// from the forward's packed weights and epilogue scale:
//
//   Wt[ci, o, ky, kx] = W[o, ci, ky, kx] * scale[o]                    (flip = 0)
//   Wt[ci, o, ky, kx] = W[o, ci, K-1-ky, K-1-kx] * scale[o]            (flip = 1)
//
// The flipped form makes the data gradient of a stride-1 convolution an ordinary convolution,
// dx = conv2d(dy, Wt, stride 1, padding K-1-P), which BackwardPlan runs with the forward kernel.
//
// packed as vec4s over four input channels, [ceil(Cin/4), Cout, K, K]: element
// ((cg*Cout + o)*K + ky)*K + kx holds Wt[4cg+0..4cg+3, o, ky, kx], lanes past Cin set to 0. The
// gradient gather then loads one vec4 per (output channel, tap) for its four input channels, as
// the forward loads one vec4 per (input channel, tap) for its four output channels.
//
// Params (binding 0) is declared in src/kernels/conv2d-weights-transpose.ts, which packs it and emits the struct before this file.
// Bindings (group 0):
//   0 params : uniform { inChannels: u32, outChannels: u32, kernel: u32, flip: u32 }
//   1 w      : storage read,  array<vec4<f32>>  forward packed [ceil(Cout/4), Cin, K, K] of vec4 over o
//              (element ((g*Cin + ci)*K*K + tap) lane l = W[4g + l, ci, tap]; packConv2dWeights)
//   2 scale  : storage read,  array<f32>        [Cout]
//   3 wt     : storage write, array<vec4<f32>>  [ceil(Cin/4), Cout, K, K] of vec4 over ci
// Override constants: WG (threads per workgroup).
// Dispatch: grid1d(ceil(Cin/4) * Cout * K*K, WG); flat index = (cg*Cout + o)*K*K + tap.
// Invariants: one writer per element; reads of channels past Cin are skipped (lane = 0).

override WG: u32 = 64u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> w: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> scale: array<f32>;
@group(0) @binding(3) var<storage, read_write> wt: array<vec4<f32>>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let i = gid.x + gid.y * groups.x * WG;
  let cin = params.inChannels;
  let cout = params.outChannels;
  let k = params.kernel;
  let taps = k * k;
  let groupsIn = (cin + 3u) / 4u;
  if (i >= groupsIn * cout * taps) { return; }
  // 1. Decompose: input-channel group cg, output channel o, tap.
  let tap = i % taps;
  let o = (i / taps) % cout;
  let cg = i / (taps * cout);
  // 2. The source tap: the same, or rotated by 180 degrees when flipping.
  let src = select(tap, (k - 1u - tap / k) * k + (k - 1u - tap % k), params.flip != 0u);
  // 3. Gather W[o, 4cg + l, src] from the forward layout (vec4 group o / 4, lane o % 4).
  var v = vec4<f32>(0.0);
  for (var l = 0u; l < 4u; l++) {
    let ci = 4u * cg + l;
    if (ci >= cin) { break; }
    v[l] = w[((o / 4u) * cin + ci) * taps + src][o % 4u];
  }
  wt[i] = v * scale[o];
}
