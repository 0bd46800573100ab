// conv2d-direct-block.wgsl: the register block of conv2d.wgsl and conv2d-subgroup.wgsl, the direct
// convolution's accumulators and one tap's work. A thread owns 8 output channels x COLS (7 or 8)
// neighbouring output columns of one row (a Block: a_j = channels 8g..8g+3 at column ox0+j, b_j =
// channels 8g+4..8g+7); per tap it loads COLS inputs (tap, inputs: each clamped into its row and 0
// in the padding, or with PADDED_INPUT read as they lie) and does 16 vec4 FMAs with two vec4
// weights (accumulate). Declares the override PADDED_INPUT; needs the kernel's overrides COLS and
// STRIDE, Params' inWidth and the binding x (parts/conv2d-io.wgsl).

/** A thread's accumulators: a_j = channels 8g..8g+3 at column ox0+j, b_j = channels 8g+4..8g+7. */
struct Block {
  a0: vec4<f32>, a1: vec4<f32>, a2: vec4<f32>, a3: vec4<f32>, a4: vec4<f32>, a5: vec4<f32>, a6: vec4<f32>, a7: vec4<f32>,
  b0: vec4<f32>, b1: vec4<f32>, b2: vec4<f32>, b3: vec4<f32>, b4: vec4<f32>, b5: vec4<f32>, b6: vec4<f32>, b7: vec4<f32>,
}

/**
 * Whether x holds the input with its zero padding already in memory (src/kernels/zero-pad.ts; the
 * kernel is then given the padded sizes and padding 0): every tap of a stored output is inside, so
 * tap() reads it without a clamp or a mask (on SwiftShader those cost a 'direct' convolution about
 * as much as its loads; src/kernels/conv2d-variants.ts paddedInputFor). A column past the output's width
 * (the last block's idle columns, never stored) may then read the next row, or past the buffer's
 * end, where WebGPU's bounds checks keep the read inside the buffer.
 */
override PADDED_INPUT: bool = false;

/** x[row + ix] broadcast to a vec4, or 0 when the row or the column ix is in the padding. */
fn tap(row: u32, ix: i32, rowOk: bool) -> vec4<f32> {
  if (PADDED_INPUT) { return vec4<f32>(x[row + u32(ix)]); }
  let w = i32(params.inWidth);
  return vec4<f32>(select(0.0, x[row + u32(clamp(ix, 0, w - 1))], rowOk && ix >= 0 && ix < w));
}

/** One tap's inputs for the COLS output columns, each broadcast to a vec4 (v7 is 0 when COLS = 7). */
struct Inputs {
  v0: vec4<f32>, v1: vec4<f32>, v2: vec4<f32>, v3: vec4<f32>, v4: vec4<f32>, v5: vec4<f32>, v6: vec4<f32>, v7: vec4<f32>,
}

/**
 * The inputs of one tap: input column ix + j*S for output column ox0 + j. They are all loaded
 * before the FMAs (on lavapipe each load is a small loop over the SIMD lanes; loads grouped ahead
 * of the arithmetic ran 1.7x faster than loads interleaved with it).
 */
fn inputs(row: u32, ix: i32, rowOk: bool) -> Inputs {
  let s = i32(STRIDE);
  var v7 = vec4<f32>(0.0);
  if (COLS == 8u) { v7 = tap(row, ix + 7 * s, rowOk); }
  return Inputs(tap(row, ix, rowOk), tap(row, ix + s, rowOk), tap(row, ix + 2 * s, rowOk), tap(row, ix + 3 * s, rowOk),
                tap(row, ix + 4 * s, rowOk), tap(row, ix + 5 * s, rowOk), tap(row, ix + 6 * s, rowOk), v7);
}

/**
 * A thread's outputs through the epilogue (parts/conv2d-epilogue.wgsl, 8 channels a call: its group
 * e holds channels 8e .. 8e+7). With 16 channels a thread (channel group g = groups 2g, 2g+1): acc,
 * then wide where group 2g+1 exists; with 8 (group g): acc.
 */
fn storeBlocks(n: u32, g: u32, oy: u32, ox0: u32, acc: Block, wide: Block, sixteen: bool) {
  let e = select(g, 2u * g, sixteen);
  epilogue(n, e, oy, ox0, acc.a0, acc.a1, acc.a2, acc.a3, acc.a4, acc.a5, acc.a6, acc.a7,
           acc.b0, acc.b1, acc.b2, acc.b3, acc.b4, acc.b5, acc.b6, acc.b7);
  if (sixteen && 8u * (e + 1u) < params.outChannels) {
    epilogue(n, e + 1u, oy, ox0, wide.a0, wide.a1, wide.a2, wide.a3, wide.a4, wide.a5, wide.a6, wide.a7,
             wide.b0, wide.b1, wide.b2, wide.b3, wide.b4, wide.b5, wide.b6, wide.b7);
  }
}

/** One tap: the weights wa, wb of 8 channels times the inputs x of the COLS columns, added to acc. */
fn accumulate(acc: Block, wa: vec4<f32>, wb: vec4<f32>, x: Inputs) -> Block {
  let v0 = x.v0; let v1 = x.v1; let v2 = x.v2; let v3 = x.v3;
  let v4 = x.v4; let v5 = x.v5; let v6 = x.v6; let v7 = x.v7;
  var r = acc;
  r.a0 = fma(v0, wa, r.a0); r.b0 = fma(v0, wb, r.b0);
  r.a1 = fma(v1, wa, r.a1); r.b1 = fma(v1, wb, r.b1);
  r.a2 = fma(v2, wa, r.a2); r.b2 = fma(v2, wb, r.b2);
  r.a3 = fma(v3, wa, r.a3); r.b3 = fma(v3, wb, r.b3);
  r.a4 = fma(v4, wa, r.a4); r.b4 = fma(v4, wb, r.b4);
  r.a5 = fma(v5, wa, r.a5); r.b5 = fma(v5, wb, r.b5);
  r.a6 = fma(v6, wa, r.a6); r.b6 = fma(v6, wb, r.b6);
  if (COLS == 8u) { r.a7 = fma(v7, wa, r.a7); r.b7 = fma(v7, wb, r.b7); }
  return r;
}
