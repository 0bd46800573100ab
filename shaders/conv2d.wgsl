// conv2d.wgsl: 2D convolution with a per-output-channel affine epilogue and an optional ReLU,
//
//   y[n,o,oy,ox] = act( scale[o] * sum_{ci,ky,kx} x[n, ci, oy*S-P+ky, ox*S-P+kx] * W[o,ci,ky,kx] + shift[o] )
//
// where taps that fall outside the input read as 0 (zero padding) and act is max(., 0) when RELU.
// BatchNorm folds into (scale, shift); a plain conv with bias uses scale = 1, shift = bias.
//
// Bindings (group 0):
//   0 params : uniform Params (below)
//   1 x      : storage read,  array<f32>        NCHW [N, Cin, H, W], contiguous
//   2 w      : storage read,  array<vec4<f32>>  packed [ceil(Cout/4), Cin, K, K] of vec4: vec4 number
//              (v*Cin + ci)*K*K + ky*K + kx holds W[4v .. 4v+3, ci, ky, kx]; channels past Cout are 0
//              (see packConv2dWeights in src/kernels/conv2d.ts; conv2d-backward reads it too)
//   3 scale  : storage read,  array<f32>        [Cout]
//   4 shift  : storage read,  array<f32>        [Cout]
//   5 y      : storage write, array<f32>        NCHW [N, Cout, OH, OW]; must not alias x
//
// Override constants: KSIZE (K), STRIDE (S), COLS (output columns per thread, <= MAX_COLS, with
// (COLS-1)*S + K <= ROW_MAX), RELU, WG (threads per workgroup). The padding P is a uniform.
//
// Register blocking: a thread owns 8 output channels (CHV = 2 vec4 weight groups) x COLS neighbouring output
// columns of one output row, accumulated in CHV*COLS vec4 registers; acc[q*MAX_COLS + j] lane c
// is channel 8g+4q+c at column ox0+j. Per input channel and kernel row the thread reads the input
// row segment its COLS outputs need once into `xr` (reused by all K taps of that row when S < K),
// and per tap reads its 2 vec4 weights, then does CHV*COLS vec4 FMAs. No workgroup memory and no
// barriers: on the CPU adapters (SwiftShader, lavapipe) every storage load costs about the same
// whatever its width or uniformity, so the kernel is built to do as many FMAs per load as the
// registers allow.
//
// Dispatch grid (see conv2dDispatch): grid1d(N * G * OH * colBlocks, WG), colBlocks = ceil(OW/COLS):
// workgroups (gx, gy, 1); the flat thread index is t = global_id.x + global_id.y * gx * WG, so no
// grid dimension exceeds 65535. Consecutive threads take consecutive column blocks, then rows, then
// channel groups, then images, so the threads of a workgroup share weights (a broadcast on GPUs).
//
// Invariants:
//   - threads with t >= N * G * OH * colBlocks return before any load;
//   - columns ox0+j >= OW and channels >= Cout are computed (from clamped, in-bounds reads and zero
//     weights) but never written; every output element is written by exactly one thread;
//   - every read of x is clamped into its row and masked to 0 when the tap lies in the padding.

struct Params {
  inChannels: u32,
  inHeight: u32,
  inWidth: u32,
  outChannels: u32,
  outHeight: u32,
  outWidth: u32,
  padding: i32,
  colBlocks: u32,   // ceil(outWidth / COLS)
  groups: u32,      // G = ceil(outChannels / 8), thread channel groups
  vec4Groups: u32,  // ceil(outChannels / 4), packed weight groups
  threads: u32,     // N * G * outHeight * colBlocks
  groupsX: u32,     // workgroups along x of the grid
}

override KSIZE: u32 = 3u;
override STRIDE: u32 = 1u;
override COLS: u32 = 8u;
override RELU: bool = false;
override WG: u32 = 64u;

const CHV: u32 = 2u;       // vec4s of output channels per thread (8 channels)
const MAX_COLS: u32 = 8u;  // upper bound of COLS: size of the accumulator rows
const ROW_MAX: u32 = 32u;  // upper bound of (COLS-1)*S + K: size of the input row segment

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> scale: array<f32>;
@group(0) @binding(4) var<storage, read> shift: array<f32>;
@group(0) @binding(5) var<storage, read_write> y: array<f32>;

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

  // 3. The input window of the block: rows iy0 .. iy0+K-1, columns ix0 .. ix0+rowLen-1, in signed
  //    input coordinates (negative or >= size means padding). Output column ox0+j, tap kx reads
  //    input column ix0 + j*S + kx, that is xr[j*S + kx].
  let iy0 = i32(oy * STRIDE) - params.padding;
  let ix0 = i32(ox0 * STRIDE) - params.padding;
  let rowLen = (COLS - 1u) * STRIDE + KSIZE;

  var acc: array<vec4<f32>, CHV * MAX_COLS>;
  for (var i = 0u; i < CHV * MAX_COLS; i++) { acc[i] = vec4<f32>(0.0); }

  // 4. Reduce over input channels ci and kernel rows ky (runtime loops), kernel columns kx and the
  //    block (constant trip counts, unrolled by the compiler). The thread's channels are packed
  //    weight groups v0 = 2g and v1 = 2g+1; when Cout <= 8g+4 group v1 does not exist and is read
  //    from v0 instead (its results are never stored).
  let plane = h * wdt;
  var xPlane = n * cin * plane;                       // offset of x[n, ci, 0, 0]
  var w0Base = (2u * g) * cin * kk;                   // offset (in vec4) of packed w[v0, ci, 0, 0]
  var w1Base = min(2u * g + 1u, params.vec4Groups - 1u) * cin * kk;   // ... and of w[v1, ci, 0, 0]
  for (var ci = 0u; ci < cin; ci++) {
    for (var ky = 0u; ky < KSIZE; ky++) {
      // 4a. Input row iy (clamped for the read, masked to 0 when it is padding).
      let iy = iy0 + i32(ky);
      let rowOk = iy >= 0 && iy < i32(h);
      let row = xPlane + u32(clamp(iy, 0, i32(h) - 1)) * wdt;
      // 4b. The row segment: element c is x[n, ci, iy, ix0 + c] or 0 in the padding. Elements that
      //     no tap uses (c % S >= K, only when S > K, e.g. the 1x1 stride-2 conv) are skipped.
      var xr: array<f32, ROW_MAX>;
      for (var c = 0u; c < rowLen; c++) {
        if (c % STRIDE < KSIZE) {
          let ix = ix0 + i32(c);
          let ok = rowOk && ix >= 0 && ix < i32(wdt);
          xr[c] = select(0.0, x[row + u32(clamp(ix, 0, i32(wdt) - 1))], ok);
        }
      }
      // 4c. Taps of this row: CHV vec4 weights each, multiplied into every column of the block.
      for (var kx = 0u; kx < KSIZE; kx++) {
        let tap = ky * KSIZE + kx;
        let w0 = w[w0Base + tap];
        let w1 = w[w1Base + tap];
        for (var j = 0u; j < COLS; j++) {
          let v = vec4<f32>(xr[j * STRIDE + kx]);
          acc[j] = fma(v, w0, acc[j]);
          acc[MAX_COLS + j] = fma(v, w1, acc[MAX_COLS + j]);
        }
      }
    }
    xPlane += plane;
    w0Base += kk;
    w1Base += kk;
  }

  // 5. Epilogue: per-channel affine (folded BatchNorm or bias), optional ReLU, and the store of the
  //    in-range part of the block: channel o = 8g+4q+c at column ox0+j goes to
  //    y[((n*Cout + o)*OH + oy)*OW + ox0+j].
  let cout = params.outChannels;
  let ow = params.outWidth;
  let outPlane = params.outHeight * ow;
  for (var q = 0u; q < CHV; q++) {
    let o0 = (g * CHV + q) * 4u;
    var sc = vec4<f32>(0.0);
    var sh = vec4<f32>(0.0);
    for (var c = 0u; c < 4u; c++) {
      let o = min(o0 + c, cout - 1u);
      sc[c] = scale[o];
      sh[c] = shift[o];
    }
    let rowOut = (n * cout + o0) * outPlane + oy * ow + ox0;
    for (var j = 0u; j < COLS; j++) {
      var r = acc[q * MAX_COLS + j] * sc + sh;
      if (RELU) { r = max(r, vec4<f32>(0.0)); }
      if (ox0 + j < ow) {
        for (var c = 0u; c < 4u; c++) {
          if (o0 + c < cout) { y[rowOut + c * outPlane + j] = r[c]; }
        }
      }
    }
  }
}
