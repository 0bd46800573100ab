// winograd-products-store.wgsl: the stores of the Winograd register products
// (conv2d-winograd-gemm-plain.wgsl, conv2d-winograd-gemm-subgroup.wgsl,
// conv2d-winograd-gemm-grid.wgsl): a thread's sums for its tiles, four vec4 groups of output
// channels each, into m[X, Cout, T] for the channels and tiles that exist.
// Needs Params' outChannels and tiles, the binding m, the override constants STORE_LOOP and
// TILES_PER_THREAD, and parts/winograd-products-block.wgsl (Products).

/**
 * A thread's sums for up to TILES_PER_THREAD tiles: tile k (k < tilesHere; tile 0 always exists) is
 * tile first + k * stride of the product, its channel groups g0 .. g0+3 in acc's p_k, q_k, r_k, s_k.
 * With STORE_LOOP the tiles are stored in a loop whose bound is known only at run time, so that a
 * compiler emits the stores once rather than once per tile: lavapipe turns every store with a
 * per-invocation index into a loop over its SIMD lanes, and the 128 stores of the written-out form
 * (8 tiles x 4 groups x 4 channels) were most of these kernels' compile time. SwiftShader, which
 * does not unroll loops or keep indexed arrays in registers, keeps the written-out form.
 */
fn storeTiles(acc: Products, present: u32, xi: u32, g0: u32, first: u32, stride: u32, tilesHere: u32) {
  let p = array(acc.p0, acc.p1, acc.p2, acc.p3, acc.p4, acc.p5, acc.p6, acc.p7);
  let q = array(acc.q0, acc.q1, acc.q2, acc.q3, acc.q4, acc.q5, acc.q6, acc.q7);
  let r = array(acc.r0, acc.r1, acc.r2, acc.r3, acc.r4, acc.r5, acc.r6, acc.r7);
  let s = array(acc.s0, acc.s1, acc.s2, acc.s3, acc.s4, acc.s5, acc.s6, acc.s7);
  if (STORE_LOOP) {
    for (var k = 0u; k < tilesHere; k++) {
      store4(p[k], q[k], r[k], s[k], present, xi, g0, first + k * stride, true);
    }
  } else {
    store4(p[0], q[0], r[0], s[0], present, xi, g0, first, true);
    store4(p[1], q[1], r[1], s[1], present, xi, g0, first + stride, tilesHere > 1u);
    store4(p[2], q[2], r[2], s[2], present, xi, g0, first + 2u * stride, tilesHere > 2u);
    store4(p[3], q[3], r[3], s[3], present, xi, g0, first + 3u * stride, tilesHere > 3u);
    if (TILES_PER_THREAD == 8u) {
      store4(p[4], q[4], r[4], s[4], present, xi, g0, first + 4u * stride, tilesHere > 4u);
      store4(p[5], q[5], r[5], s[5], present, xi, g0, first + 5u * stride, tilesHere > 5u);
      store4(p[6], q[6], r[6], s[6], present, xi, g0, first + 6u * stride, tilesHere > 6u);
      store4(p[7], q[7], r[7], s[7], present, xi, g0, first + 7u * stride, tilesHere > 7u);
    }
  }
}

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
