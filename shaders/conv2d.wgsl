// conv2d.wgsl: 2D convolution with a per-output-channel affine epilogue and an optional ReLU,
//
//   y[n,o,oy,ox] = act( scale[o] * sum_{ci,ky,kx} x[n, ci, oy*S-P+ky, ox*S-P+kx] * W[o,ci,ky,kx] + shift[o] )
//
// where taps that fall outside the input read as 0 (zero padding) and act is max(., 0) when
// params.relu is set.
// BatchNorm folds into (scale, shift); a plain conv with bias uses scale = 1, shift = bias.
// The f16-weights variant ('shader-f16') is this file with binding 2 as array<vec4<f16>> and the
// two weight loads (wa, wb) widened to f32: f16Source in src/kernels/conv2d.ts rewrites those lines.
//
// Bindings (group 0):
//   0 params : uniform Params (below)
//   1 x      : storage read,  array<f32>        NCHW [N, Cin, H, W], contiguous
//   2 w      : storage read,  array<vec4<f32>>  packed [ceil(Cout/4), Cin, K, K] of vec4: vec4 number
//              (v*Cin + ci)*K*K + ky*K + kx holds W[4v .. 4v+3, ci, ky, kx]; channels past Cout are 0
//              (packConv2dWeights in src/kernels/conv2d.ts; conv2d-backward reads the same layout)
//   3 scale  : storage read,  array<f32>        [Cout]
//   4 shift  : storage read,  array<f32>        [Cout]
//   5 y      : storage write, array<f32>        NCHW [N, Cout, OH, OW]; must not alias x
//
// Override constants: KSIZE (K), STRIDE (S), COLS (output columns per thread: 7 or 8), WG (threads
// per workgroup); K and S shape the inner loops, which the compilers unroll. The padding P, the
// ReLU flag and all sizes are uniforms (a runtime K was 10-40% slower on lavapipe; a ReLU override
// would double the pipelines for no measurable gain).
//
// Register blocking: a thread owns 8 output channels x COLS neighbouring output columns of one
// output row: 16 vec4 accumulators a0..a7 (channels 8g..8g+3, columns ox0..ox0+7) and b0..b7
// (channels 8g+4..8g+7). Per tap it loads 2 vec4 weights (packed groups v = 2g and 2g+1) and COLS
// input values, and does 16 vec4 FMAs. No workgroup memory and no barriers. On the CPU adapters
// (lavapipe, SwiftShader) a storage load whose index varies along a loop costs about the same
// whatever its width or uniformity (it is done lane by lane), so the kernel does as many FMAs per
// load as the registers allow; accumulators are named variables rather than an array because
// SwiftShader does not unroll loops and indexes private arrays slowly.
//
// Dispatch grid (see conv2dDispatch): grid1d(N * G * OH * colBlocks, WG) with G = ceil(Cout/8) and
// colBlocks = ceil(OW/COLS): workgroups (gx, gy, 1); the flat thread index is
// t = (wid.x + wid.y * gx) * WG + local index, so no grid dimension exceeds 65535. Consecutive
// threads take consecutive column blocks, then rows, then channel groups, then images: the threads
// of a workgroup mostly share their weights (a broadcast on GPUs) and read neighbouring inputs.
//
// Invariants:
//   - threads with t >= N * G * OH * colBlocks return before any load;
//   - columns ox0+j >= OW and channels >= Cout are computed (from clamped, in-bounds reads and zero
//     weights) but never written; every output element is written by exactly one thread;
//   - every read of x is clamped into its row and masked to 0 when the tap lies in the padding;
//   - with COLS = 7 the eighth column (a7, b7) is never loaded, accumulated or stored.

struct Params {
  inChannels: u32,
  inHeight: u32,
  inWidth: u32,
  outChannels: u32,
  outHeight: u32,
  outWidth: u32,
  padding: i32,
  colBlocks: u32,   // ceil(outWidth / COLS)
  groups: u32,      // G = ceil(outChannels / 8): channel groups of 8, one per thread
  vec4Groups: u32,  // ceil(outChannels / 4): packed weight groups
  threads: u32,     // N * G * outHeight * colBlocks
  groupsX: u32,     // workgroups along x of the grid
  relu: u32,        // 1: apply max(., 0) after the affine epilogue
}

override KSIZE: u32 = 3u;
override STRIDE: u32 = 1u;
override COLS: u32 = 8u;
override WG: u32 = 64u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> scale: array<f32>;
@group(0) @binding(4) var<storage, read> shift: array<f32>;
@group(0) @binding(5) var<storage, read_write> y: array<f32>;

/** x[row + ix] broadcast to a vec4, or 0 when the row or the column ix is in the padding. */
fn tap(row: u32, ix: i32, rowOk: bool) -> vec4<f32> {
  let w = i32(params.inWidth);
  return vec4<f32>(select(0.0, x[row + u32(clamp(ix, 0, w - 1))], rowOk && ix >= 0 && ix < w));
}

/**
 * The epilogue of column ox0 + j for output channels o0 .. o0+3: y = act(acc * scale + shift),
 * stored at y[rowBase + c * OH*OW + ox0 + j] (rowBase = offset of y[n, o0, oy, 0]) for the
 * channels and the column that exist.
 */
fn store(acc: vec4<f32>, sc: vec4<f32>, sh: vec4<f32>, o0: u32, rowBase: u32, ox0: u32, j: u32) {
  if (j >= COLS || ox0 + j >= params.outWidth) { return; }
  var r = acc * sc + sh;
  if (params.relu != 0u) { r = max(r, vec4<f32>(0.0)); }
  let outPlane = params.outHeight * params.outWidth;
  for (var c = 0u; c < 4u; c++) {
    if (o0 + c < params.outChannels) { y[rowBase + c * outPlane + ox0 + j] = r[c]; }
  }
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let cin = params.inChannels;
  let h = params.inHeight;
  let wdt = params.inWidth;
  let kk = KSIZE * KSIZE;

  // 1. Flat thread index; threads past the end have nothing to do.
  let t = (wid.x + wid.y * params.groupsX) * WG + lid;
  if (t >= params.threads) { return; }

  // 2. Decompose t = ((n * G + g) * OH + oy) * colBlocks + b: image n, channel group g (output
  //    channels 8g .. 8g+7), output row oy, first output column ox0 = b * COLS.
  let b = t % params.colBlocks;
  let rest = t / params.colBlocks;
  let oy = rest % params.outHeight;
  let ng = rest / params.outHeight;
  let g = ng % params.groups;
  let n = ng / params.groups;
  let ox0 = b * COLS;

  // 3. Top-left input tap of the block in signed input coordinates (negative or past the end =
  //    padding). Output column ox0+j at tap (ky, kx) reads input (iy0 + ky, ix0 + j*S + kx).
  let iy0 = i32(oy * STRIDE) - params.padding;
  let ix0 = i32(ox0 * STRIDE) - params.padding;
  let s = i32(STRIDE);

  // 4. Weight offsets (in vec4) of packed groups v0 = 2g and v1 = 2g+1 at input channel 0. When
  //    Cout <= 8g+4 group v1 does not exist; it is read from the last group instead (those
  //    channels are never stored).
  var w0 = (2u * g) * cin * kk;
  var w1 = min(2u * g + 1u, params.vec4Groups - 1u) * cin * kk;

  // 5. Reduce over input channels, kernel rows and kernel columns.
  var a0 = vec4<f32>(0.0); var a1 = vec4<f32>(0.0); var a2 = vec4<f32>(0.0); var a3 = vec4<f32>(0.0);
  var a4 = vec4<f32>(0.0); var a5 = vec4<f32>(0.0); var a6 = vec4<f32>(0.0); var a7 = vec4<f32>(0.0);
  var b0 = vec4<f32>(0.0); var b1 = vec4<f32>(0.0); var b2 = vec4<f32>(0.0); var b3 = vec4<f32>(0.0);
  var b4 = vec4<f32>(0.0); var b5 = vec4<f32>(0.0); var b6 = vec4<f32>(0.0); var b7 = vec4<f32>(0.0);
  var xPlane = n * cin * h * wdt;   // offset of x[n, ci, 0, 0]
  for (var ci = 0u; ci < cin; ci++) {
    for (var ky = 0u; ky < KSIZE; ky++) {
      // 5a. Input row iy, clamped for the read and flagged when it is padding.
      let iy = iy0 + i32(ky);
      let rowOk = iy >= 0 && iy < i32(h);
      let row = xPlane + u32(clamp(iy, 0, i32(h) - 1)) * wdt;
      for (var kx = 0u; kx < KSIZE; kx++) {
        // 5b. The tap's weights for the 8 channels and the inputs of the COLS columns, all loaded
        //     before the FMAs (on lavapipe each load is a small loop over the SIMD lanes; loads
        //     grouped ahead of the arithmetic ran 1.7x faster than loads interleaved with it).
        let k = ky * KSIZE + kx;
        let wa = w[w0 + k];
        let wb = w[w1 + k];
        let ix = ix0 + i32(kx);
        let v0 = tap(row, ix, rowOk);
        let v1 = tap(row, ix + s, rowOk);
        let v2 = tap(row, ix + 2 * s, rowOk);
        let v3 = tap(row, ix + 3 * s, rowOk);
        let v4 = tap(row, ix + 4 * s, rowOk);
        let v5 = tap(row, ix + 5 * s, rowOk);
        let v6 = tap(row, ix + 6 * s, rowOk);
        var v7 = vec4<f32>(0.0);
        if (COLS == 8u) { v7 = tap(row, ix + 7 * s, rowOk); }
        a0 = fma(v0, wa, a0); b0 = fma(v0, wb, b0);
        a1 = fma(v1, wa, a1); b1 = fma(v1, wb, b1);
        a2 = fma(v2, wa, a2); b2 = fma(v2, wb, b2);
        a3 = fma(v3, wa, a3); b3 = fma(v3, wb, b3);
        a4 = fma(v4, wa, a4); b4 = fma(v4, wb, b4);
        a5 = fma(v5, wa, a5); b5 = fma(v5, wb, b5);
        a6 = fma(v6, wa, a6); b6 = fma(v6, wb, b6);
        if (COLS == 8u) { a7 = fma(v7, wa, a7); b7 = fma(v7, wb, b7); }
      }
    }
    xPlane += h * wdt;
    w0 += kk;
    w1 += kk;
  }

  // 6. Epilogue: per-channel affine (folded BatchNorm or bias) and optional ReLU; store the
  //    in-range part of the block. Channel o of column ox0+j goes to y[((n*Cout + o)*OH + oy)*OW + ox0+j].
  let cout = params.outChannels;
  let outPlane = params.outHeight * params.outWidth;
  let oa = 8u * g;       // channels of a0..a7
  let ob = 8u * g + 4u;  // channels of b0..b7
  var sca = vec4<f32>(0.0); var sha = vec4<f32>(0.0);
  var scb = vec4<f32>(0.0); var shb = vec4<f32>(0.0);
  for (var c = 0u; c < 4u; c++) {
    sca[c] = scale[min(oa + c, cout - 1u)]; sha[c] = shift[min(oa + c, cout - 1u)];
    scb[c] = scale[min(ob + c, cout - 1u)]; shb[c] = shift[min(ob + c, cout - 1u)];
  }
  let rowA = ((n * cout + oa) * params.outHeight + oy) * params.outWidth;   // y[n, oa, oy, 0]
  let rowB = rowA + 4u * outPlane;                                          // y[n, ob, oy, 0]
  store(a0, sca, sha, oa, rowA, ox0, 0u); store(b0, scb, shb, ob, rowB, ox0, 0u);
  store(a1, sca, sha, oa, rowA, ox0, 1u); store(b1, scb, shb, ob, rowB, ox0, 1u);
  store(a2, sca, sha, oa, rowA, ox0, 2u); store(b2, scb, shb, ob, rowB, ox0, 2u);
  store(a3, sca, sha, oa, rowA, ox0, 3u); store(b3, scb, shb, ob, rowB, ox0, 3u);
  store(a4, sca, sha, oa, rowA, ox0, 4u); store(b4, scb, shb, ob, rowB, ox0, 4u);
  store(a5, sca, sha, oa, rowA, ox0, 5u); store(b5, scb, shb, ob, rowB, ox0, 5u);
  store(a6, sca, sha, oa, rowA, ox0, 6u); store(b6, scb, shb, ob, rowB, ox0, 6u);
  store(a7, sca, sha, oa, rowA, ox0, 7u); store(b7, scb, shb, ob, rowB, ox0, 7u);
}
