// winograd-products-store.wgsl: the stores of the Winograd register products
// (conv2d-winograd-gemm-plain.wgsl, conv2d-winograd-gemm-subgroup.wgsl): a thread's sums for one
// tile, four vec4 groups of output channels, into m[X, Cout, T] for the channels that exist.
// Needs Params' outChannels and tiles and the binding m.

/** Tile t's four channel groups (those of the first `present` that exist), unless the tile is past T (!ok). */
fn store4(p: vec4<f32>, q: vec4<f32>, r: vec4<f32>, s: vec4<f32>, present: u32, xi: u32, g0: u32, t: u32, ok: bool) {
  if (!ok) { return; }
  store(p, xi, 4u * g0, t);
  if (present > 1u) { store(q, xi, 4u * g0 + 4u, t); }
  if (present > 2u) { store(r, xi, 4u * g0 + 8u, t); }
  if (present > 3u) { store(s, xi, 4u * g0 + 12u, t); }
}

/** Write output channels o0 .. o0+3 (those that exist) of tile t of product xi. */
fn store(acc: vec4<f32>, xi: u32, o0: u32, t: u32) {
  for (var c = 0u; c < 4u; c++) {
    let o = o0 + c;
    if (o < params.outChannels) {
      m[(xi * params.outChannels + o) * params.tiles + t] = acc[c];
    }
  }
}
