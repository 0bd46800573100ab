// winograd-products-block.wgsl: the register block of the Winograd register products
// (conv2d-winograd-gemm-plain.wgsl, conv2d-winograd-gemm-subgroup.wgsl,
// conv2d-winograd-gemm-grid.wgsl): a thread's sums for 16 output channels (four vec4 groups of
// U) x TILES_PER_THREAD tiles (8, or 4), and one input channel's 128 multiply-adds into them.
// The kernels differ in where a thread's operands come from (its own loads, a broadcast of a tile,
// shuffles of both); the sums, and their order, are these.
// Accumulators are named struct members, as parts/conv2d-direct-block.wgsl's Block: SwiftShader
// neither unrolls loops nor keeps a private array indexed in a loop in registers.
// Needs the override constant TILES_PER_THREAD; parts/winograd-products-store.wgsl (storeTiles)
// stores a block.

/**
 * A thread's sums: p_k, q_k, r_k, s_k are output channels 4*g0 .. +3, +4 .. +7, +8 .. +11,
 * +12 .. +15 of its tile k (k < TILES_PER_THREAD; with 4 tiles, p4 .. s7 stay as they start).
 */
struct Products {
  p0: vec4<f32>, p1: vec4<f32>, p2: vec4<f32>, p3: vec4<f32>, p4: vec4<f32>, p5: vec4<f32>, p6: vec4<f32>, p7: vec4<f32>,
  q0: vec4<f32>, q1: vec4<f32>, q2: vec4<f32>, q3: vec4<f32>, q4: vec4<f32>, q5: vec4<f32>, q6: vec4<f32>, q7: vec4<f32>,
  r0: vec4<f32>, r1: vec4<f32>, r2: vec4<f32>, r3: vec4<f32>, r4: vec4<f32>, r5: vec4<f32>, r6: vec4<f32>, r7: vec4<f32>,
  s0: vec4<f32>, s1: vec4<f32>, s2: vec4<f32>, s3: vec4<f32>, s4: vec4<f32>, s5: vec4<f32>, s6: vec4<f32>, s7: vec4<f32>,
}

/** One input channel's operands for a thread: its 4 vec4 groups of U and its tiles' values of V (x4 .. x7 unused with 4 tiles). */
struct Operands {
  a0: vec4<f32>, a1: vec4<f32>, a2: vec4<f32>, a3: vec4<f32>,
  x0: f32, x1: f32, x2: f32, x3: f32, x4: f32, x5: f32, x6: f32, x7: f32,
}

/**
 * Tile k of a thread's tile block b in the plain and subgroup kernels (the k-th of b, b+B, b+2B, ...
 * for B blocks), or b itself where that is past T (read, not stored).
 */
fn tileOf(b: u32, k: u32, blocks: u32, T: u32) -> u32 {
  return select(b, b + k * blocks, b + k * blocks < T);
}

/**
 * Every sum at `value` (0.0, or -0.0: see conv2d-winograd-gemm-grid.wgsl). The kernels start each
 * block's sums from it in so many words. WGSL makes a `var` without an initializer zero each time
 * control enters its declaration, each pass of a loop included, but the WGSL compiler of the
 * `webgpu` package (Dawn, 0.6.2) zeroes it once per invocation, on lavapipe and SwiftShader alike:
 * declared as `var part: Products;` inside the loop over the blocks, a block's sums began where the
 * previous block's had ended, and the float64 tests of F(4x4, 3x3) (blocks of 16 input channels)
 * failed. (wgpu's naga had the same fault: gfx-rs/wgpu issue 9489.)
 */
fn productsAt(value: f32) -> Products {
  let z = vec4<f32>(value);
  return Products(z, z, z, z, z, z, z, z, z, z, z, z, z, z, z, z, z, z, z, z, z, z, z, z, z, z, z, z, z, z, z, z);
}

/** acc plus one input channel's products: group i of U times tile k of V, into tile k's sums of group i. */
fn multiplyAdd(acc: Products, o: Operands) -> Products {
  var r = acc;
  r.p0 = r.p0 + o.a0 * o.x0; r.q0 = r.q0 + o.a1 * o.x0; r.r0 = r.r0 + o.a2 * o.x0; r.s0 = r.s0 + o.a3 * o.x0;
  r.p1 = r.p1 + o.a0 * o.x1; r.q1 = r.q1 + o.a1 * o.x1; r.r1 = r.r1 + o.a2 * o.x1; r.s1 = r.s1 + o.a3 * o.x1;
  r.p2 = r.p2 + o.a0 * o.x2; r.q2 = r.q2 + o.a1 * o.x2; r.r2 = r.r2 + o.a2 * o.x2; r.s2 = r.s2 + o.a3 * o.x2;
  r.p3 = r.p3 + o.a0 * o.x3; r.q3 = r.q3 + o.a1 * o.x3; r.r3 = r.r3 + o.a2 * o.x3; r.s3 = r.s3 + o.a3 * o.x3;
  if (TILES_PER_THREAD == 8u) {
    r.p4 = r.p4 + o.a0 * o.x4; r.q4 = r.q4 + o.a1 * o.x4; r.r4 = r.r4 + o.a2 * o.x4; r.s4 = r.s4 + o.a3 * o.x4;
    r.p5 = r.p5 + o.a0 * o.x5; r.q5 = r.q5 + o.a1 * o.x5; r.r5 = r.r5 + o.a2 * o.x5; r.s5 = r.s5 + o.a3 * o.x5;
    r.p6 = r.p6 + o.a0 * o.x6; r.q6 = r.q6 + o.a1 * o.x6; r.r6 = r.r6 + o.a2 * o.x6; r.s6 = r.s6 + o.a3 * o.x6;
    r.p7 = r.p7 + o.a0 * o.x7; r.q7 = r.q7 + o.a1 * o.x7; r.r7 = r.r7 + o.a2 * o.x7; r.s7 = r.s7 + o.a3 * o.x7;
  }
  return r;
}

/** total plus one block of input channels' sums (SUM_BLOCK), sum by sum. */
fn addBlock(total: Products, part: Products) -> Products {
  var r = total;
  r.p0 += part.p0; r.p1 += part.p1; r.p2 += part.p2; r.p3 += part.p3; r.p4 += part.p4; r.p5 += part.p5; r.p6 += part.p6; r.p7 += part.p7;
  r.q0 += part.q0; r.q1 += part.q1; r.q2 += part.q2; r.q3 += part.q3; r.q4 += part.q4; r.q5 += part.q5; r.q6 += part.q6; r.q7 += part.q7;
  r.r0 += part.r0; r.r1 += part.r1; r.r2 += part.r2; r.r3 += part.r3; r.r4 += part.r4; r.r5 += part.r5; r.r6 += part.r6; r.r7 += part.r7;
  r.s0 += part.s0; r.s1 += part.s1; r.s2 += part.s2; r.s3 += part.s3; r.s4 += part.s4; r.s5 += part.s5; r.s6 += part.s6; r.s7 += part.s7;
  return r;
}
