// conv2d-winograd4s2-filter.wgsl: the filter transform of the Winograd F(4x4, 3x3) convolution at
// stride 2 (src/kernels/conv2d-winograd.ts), made once per convolution from the forward's packed
// filter (packConv2dWeights). Along one dimension the taps (g0, g2) meet the even inputs through
// F(4, 2) and g1 the odd ones alone (conv2d-winograd4s2-input.wgsl), so each 3x3 filter g becomes
// 36 distinct planes of U (the 81 products read them through parts/winograd-filter-plane.wgsl):
//
//   planes  0 .. 24  G [[g00, g02], [g20, g22]] G^T   (even rows, even columns; plane 5i + j)
//   planes 25 .. 29  G (g01, g21)                      (even row i, any odd column)
//   planes 30 .. 34  G (g10, g12)                      (any odd row, even column j)
//   plane  35        g11                               (odd x odd)
//
//   G = [[1/2, 0], [-1/2, -1/2], [-1/6, 1/6], [1/6, 1/3], [0, 1]]
//
// (F(4, 2) at 0, +-1, 2 and infinity, scaled so that the activations' transforms have integer
// entries and G all the fractions). Computed for the 4 output channels of a packed vec4 group at once.
//
// Params (binding 0) is declared in src/kernels/conv2d-winograd.ts, which packs it and emits the struct before this file.
// Bindings (group 0):
//   0 params : uniform Params
//   1 w      : storage read,  array<vec4<f32>>  packed [ceil(Cout/4), Cin, 3, 3] vec4 over 4 output channels
//   2 u      : storage write, array<vec4<f32>>  [36, ceil(Cout/4), Cin]: element (plane*G4 + g)*Cin + c
// Override constants: WG (threads per workgroup).
// Dispatch: grid1d(ceil(Cout/4) * Cin, WG); thread flat = g*Cin + c.
// Invariants: one writer per element; padded channels stay 0 (their packed weights are 0).

override WG: u32 = 64u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> w: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> u: array<vec4<f32>>;

/** G applied to the pair of taps (a, c) (for 4 output channels at once). */
fn g5(a: vec4<f32>, c: vec4<f32>) -> array<vec4<f32>, 5> {
  return array<vec4<f32>, 5>(a / 2.0, -(a + c) / 2.0, (c - a) / 6.0, a / 6.0 + c / 3.0, c);
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let flat = gid.x + gid.y * groups.x * WG;
  let cin = params.inChannels;
  let vec4Groups = (params.outChannels + 3u) / 4u;
  if (flat >= vec4Groups * cin) { return; }
  let base = flat * 9u;   // packed element (g*Cin + c)*9 + tap, and flat = g*Cin + c
  let plane = vec4Groups * cin;
  // Even x even: G over the even columns (taps 0 and 2 of rows 0 and 2), then over the rows.
  let col0 = g5(w[base + 0u], w[base + 6u]);
  let col2 = g5(w[base + 2u], w[base + 8u]);
  for (var i = 0u; i < 5u; i++) {
    let row = g5(col0[i], col2[i]);
    for (var j = 0u; j < 5u; j++) {
      u[(5u * i + j) * plane + flat] = row[j];
    }
  }
  // Even rows with the odd column (taps 1 and 7), odd row (taps 3 and 5) with the even columns.
  let evenRows = g5(w[base + 1u], w[base + 7u]);
  let evenColumns = g5(w[base + 3u], w[base + 5u]);
  for (var i = 0u; i < 5u; i++) {
    u[(25u + i) * plane + flat] = evenRows[i];
    u[(30u + i) * plane + flat] = evenColumns[i];
  }
  u[35u * plane + flat] = w[base + 4u];
}
