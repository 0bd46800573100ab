// conv2d-winograd4-filter.wgsl: the filter transform of the Winograd F(4x4, 3x3) convolution
// (src/kernels/conv2d-winograd.ts), made once per convolution from the forward's packed filter
// (packConv2dWeights): each 3x3 filter g of output channel k and input channel c becomes
//
//   U = G g G^T,   G = [[ 1/36,      0,       0],
//                       [1/1170,  1/780,   1/520],
//                       [1/1170, -1/780,   1/520],
//                       [-1/520, -1/780, -1/1170],
//                       [-1/520,  1/780, -1/1170],
//                       [     0,      0,    1/36]]
//
// (the points 0, +-3/2, +-2/3 and infinity, scaled so that the transforms of the activations have
// integer entries and G all the fractions: see conv2d-winograd4-input.wgsl). Its entries are not
// exact in float32; U is then the exact transform of weights within about 1e-7 of their own value,
// far below what the weights' own float32 rounding already is.
// computed for the 4 output channels of a packed vec4 group at once.
//
// Params (binding 0) is declared in src/kernels/conv2d-winograd.ts, which packs it and emits the struct before this file.
// Bindings (group 0):
//   0 params : uniform Params
//   1 w      : storage read,  array<vec4<f32>>  packed [ceil(Cout/4), Cin, 3, 3] vec4 over 4 output channels
//   2 u      : storage write, array<vec4<f32>>  [36, ceil(Cout/4), Cin]: element (xi*G4 + g)*Cin + c
//              holds U[xi][4g .. 4g+3][c], xi = 6*row + column (conv2d-winograd-gemm*.wgsl's layout)
// Override constants: WG (threads per workgroup).
// Dispatch: grid1d(ceil(Cout/4) * Cin, WG); thread flat = g*Cin + c.
// Invariants: one writer per element; padded channels stay 0 (their packed weights are 0).

override WG: u32 = 64u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> w: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> u: array<vec4<f32>>;

/** G applied to a column of 3 (for 4 output channels at once). */
fn g6(a: vec4<f32>, b: vec4<f32>, c: vec4<f32>) -> array<vec4<f32>, 6> {
  let even = a / 1170.0 + c / 520.0;
  let odd = b / 780.0;
  let evenNeg = -(a / 520.0 + c / 1170.0);
  return array<vec4<f32>, 6>(
    a / 36.0,
    even + odd,
    even - odd,
    evenNeg - odd,
    evenNeg + odd,
    c / 36.0,
  );
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let flat = gid.x + gid.y * groups.x * WG;
  let cin = params.inChannels;
  let vec4Groups = (params.outChannels + 3u) / 4u;
  if (flat >= vec4Groups * cin) { return; }
  let base = flat * 9u;   // packed element (g*Cin + c)*9 + tap, and flat = g*Cin + c
  // G g: each column of g (kx) through G, giving 6 rows.
  let col0 = g6(w[base + 0u], w[base + 3u], w[base + 6u]);
  let col1 = g6(w[base + 1u], w[base + 4u], w[base + 7u]);
  let col2 = g6(w[base + 2u], w[base + 5u], w[base + 8u]);
  // (G g) G^T: each row i of G g through G.
  let plane = vec4Groups * cin;
  for (var i = 0u; i < 6u; i++) {
    let row = g6(col0[i], col1[i], col2[i]);
    for (var j = 0u; j < 6u; j++) {
      u[(6u * i + j) * plane + flat] = row[j];
    }
  }
}
