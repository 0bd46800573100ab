// conv2d-backward.wgsl: gradient of a convolution with respect to its input (weights fixed), the
// transposed convolution of the output gradient, written as a gather (no atomics):
//
//   dx[n,ci,iy,ix] = sum_{o,ky,kx : oy = (iy+P-ky)/S and ox = (ix+P-kx)/S are whole and in range}
//                      Wt[ci,o,ky,kx] * dy[n,o,oy,ox],      Wt[ci,o,ky,kx] = W[o,ci,ky,kx] * scale[o]
//
// then, optionally, dx += addend (add: a second gradient reaching the same tensor, the residual
// fan-out) and dx = 0 where mask <= 0 (mask: the ReLU that produced the input of this conv, with
// mask = that ReLU's output or its pre-activation; PyTorch's relu gradient at 0 is 0).
// `scale` is the forward epilogue's per-output-channel factor (the folded BatchNorm
// gamma / sqrt(var + eps), or 1 for a bare convolution): the forward was y = scale * conv + shift,
// so dL/dconv = dy * scale; it is folded into the transposed weights Wt once, by
// conv2d-weights-transpose.wgsl. The shift has no gradient to the input.
//
// Bindings (group 0):
//   0 params : uniform Params, declared (each member explained) and packed in src/kernels/conv2d-backward.ts,
//              which emits the struct before this file
//   1 dy     : storage read,  array<f32>        NCHW [N, Cout, OH, OW], the output gradient
//   2 wt     : storage read,  array<vec4<f32>>  transposed weights [ceil(Cin/4), Cout, K, K] of vec4:
//              element ((cg*Cout + o)*K + ky)*K + kx holds Wt[4cg+0..4cg+3, o, ky, kx] (lanes past
//              Cin are 0); see packConv2dWeightsTransposed in src/kernels/conv2d-backward.ts
//   3 addend : storage read,  array<f32>        NCHW [N, Cin, H, W] (read only when add = 1)
//   4 mask   : storage read,  array<f32>        NCHW [N, Cin, H, W] (read only when mask = 1)
//   5 dx     : storage write, array<f32>        NCHW [N, Cin, H, W]; must not alias the others
//
// Composition (src/kernels/conv2d-backward.ts): Params, GMAX, this file, parts/conv2d-backward-store.wgsl
// (the epilogue, shared with conv2d-backward-subgroup.wgsl, lavapipe's form of this kernel).
//
// K and S are override constants (the tap loops unroll; one pipeline per (K, S, CGROUPS): the network
// needs (3, 2), (1, 2) and (7, 2), its stride-1 gradients running as forward convolutions, see
// src/model/backward.ts); P and the add / mask switches are uniforms (the switches only touch the
// epilogue). WG is an override constant. Unused addend / mask bindings take any small buffer.
//
// Stride classes. Input pixels split into S x S classes by (iy mod S, ix mod S) = (ry, rx). In a
// class, a tap (ky, kx) contributes only if (ry + P - ky) and (rx + P - kx) are multiples of S, the
// same for every pixel of the class; the output position is then oy = (ry + P - ky)/S + a for the
// class row a (iy = ry + S a), likewise ox. One workgroup works in one class, so its threads take
// the same taps (no divergent branches) and skip the (S^2 - 1)/S^2 of taps that cannot contribute.
//
// Register blocking (the mirror of conv2d.wgsl): each thread owns CGROUPS groups of 4 input
// channels (groups cg = CGROUPS wid.y + g, g < CGROUPS; ci = 4cg .. 4cg+3) x COLS (= 8) pixels of
// one class row, ix_j = rx + S (COLS m + j), whose output columns ox_j = (rx + P - kx)/S + COLS m + j
// are consecutive. The class's column taps kx = kx0 + S t (t = 0 .. TAPS-1, TAPS = ceil(K/S),
// while kx < K) each shift those columns left by one, so per output channel and kernel row the
// thread loads one row of COLS + TAPS - 1 output gradients into registers (as conv2d-rows.wgsl
// does in the forward) and, per tap and group, one weight vec4 (the group's 4 input channels;
// uniform across the workgroup) and does 4 COLS multiply-adds, acc[g][j] += dy_j * wt. Each
// output's sum runs over (o, ky, kx) ascending, as with a load per tap and column, so the outputs
// do not depend on COLS or on the row, nor on CGROUPS.
//
// Why this shape: dy loads differ per lane (a loop over the SIMD lanes on lavapipe); the row cuts
// them per (o, ky) and column from TAPS to (COLS + TAPS - 1) / COLS: for the 7x7 stem 4 -> 1.4,
// for 3x3 2 -> 1.1. Batch 8 on lavapipe, one dispatch, interleaved medians, outputs bit-identical
// to the earlier per-tap loads (4 columns) at every shape below:
//   shape (Cin, Cout, input)               per-tap, 4 cols   row, 4 cols   row, 8 cols   row, 16
//   stem 7x7 s2 (3, 64, 224x224)           550 (load 6)      420 / 295     210           170
//   layer2.0.conv1 3x3 s2 (64, 128, 56)    190 (load 6)      155 / 143     121           102
//   layer4.0.conv1 3x3 s2 (256, 512, 14)   175 (load 6)      180 / 150     107 to 119    198
//   layer3.0.downsample 1x1 s2 (128, 28)                     37.5          34.6          33
// (row-4 pairs: against per-tap at load 6, against row-8 at load 2.) 16 columns leave most of a
// 7-column class row of layer4 idle; 8 is the best overall. A whole step at layer4.1
// (bench/fv-profile.mjs, load ~2, back to back), all conv2d-backward dispatches: per-tap
// 885 / 1150 -> row, 8 columns 666 / 689 ms; the stem alone 343 / 447 -> 194 / 212 ms. The
// loops over the row, the taps and the columns have constant trip counts and no break, so they
// unroll and the row's and the accumulators' indices are constants (registers, not scratch).
//
// Channel groups per thread (CGROUPS, conv2dBackwardDispatch picks). The row of output gradients
// is loaded once for all of a thread's groups, so more groups mean fewer loads per multiply-add,
// which is what the CPU adapters are bound by. ResNet18's stride-2 gradients, batch 8 on
// lavapipe (2-core Intel Xeon; bench/conv-backward.mjs,
// bench/results/2026-12-05-conv-backward-lavapipe.md), medians in ms, bit-identical:
//   shape (Cin, Cout, input)               before groups   1 group   8 groups
//   layer2.0.conv1 3x3 s2 (64, 128, 56)    375             257       164
//   layer3.0.conv1 3x3 s2 (128, 256, 28)   243             264       181
//   layer4.0.conv1 3x3 s2 (256, 512, 14)   388             414       222
//   layer3.0.downsample 1x1 s2 (128, 28)   99              89        47
// With one group the kernel is the one before, but for the group loop's bookkeeping, which
// SwiftShader paid for per tap (1.25x slower) until group 0 was given its own path.
// The stem (Cin = 3) has one group. Tried and left out: ROWS class rows per thread sharing the
// output-gradient rows their taps read (per o, ROWS + TAPS - 1 rows held at once). For the stem, 2
// rows ran 1.22x faster alone but 0.76x inside a feature-visualisation step (bench/fv-profile.mjs,
// median of 5), and the held rows made one row 1.2x slower than loading a row per (o, ky).
//
// Dispatch grid (see conv2dBackwardDispatch): (tiles, ceil(ceil(Cin / 4) / CGROUPS), N * S * S) workgroups,
//   tiles = ceil(ceil(H/S) * ceil(ceil(W/S) / COLS) / WG), the blocks of the largest class;
//   wid.z = n * S * S + ry * S + rx.
//
// Invariants:
//   - threads whose block lies past their class's rows return without writing; every dx element
//     is written by exactly one thread (channels >= Cin, groups past the last (read from the last
//     group's weights) and columns ix_j >= W are computed and not written);
//   - every read of dy is clamped into the tensor and masked to 0 when (oy, ox) is out of range.

override KSIZE: u32 = 3u;
override STRIDE: u32 = 1u;
override WG: u32 = 64u;
/** Groups of 4 input channels per thread, 1 to GMAX. */
override CGROUPS: u32 = 1u;
// GMAX, the accumulator arrays' group count, is a const that src/kernels/conv2d-backward.ts emits
// before this file: 1 for one group per thread (the arrays as small as they were before groups;
// SwiftShader keeps arrays in memory), else 8.

const COLS: u32 = 8u;
// Column taps per stride class, at most; the row buffer holds COLS + TAPS - 1 <= RMAX values
// (conv2dBackwardDispatch rejects ceil(K / S) > RMAX - COLS + 1 = 9).
override TAPS: u32 = (KSIZE + STRIDE - 1u) / STRIDE;
const RMAX: u32 = 16u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read> wt: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> addend: array<f32>;
@group(0) @binding(4) var<storage, read> mask: array<f32>;
@group(0) @binding(5) var<storage, read_write> dx: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let cin = params.inChannels;
  let h = params.inHeight;
  let wdt = params.inWidth;
  let cout = params.outChannels;
  let oh = i32(params.outHeight);
  let ow = i32(params.outWidth);
  let ksize = KSIZE;
  let stride = STRIDE;
  let s = i32(stride);
  let p = params.padding;

  // 1. Decompose the workgroup id: image n, stride class (ry, rx), first input-channel group cg0.
  let classes = stride * stride;
  let n = wid.z / classes;
  let ry = i32((wid.z % classes) / stride);
  let rx = i32(wid.z % stride);
  let cg0 = wid.y * CGROUPS;
  if (ry >= i32(h) || rx >= i32(wdt)) { return; }

  // 2. This thread's block in the class: class row a (iy = ry + S a), column block m.
  let classRows = (i32(h) - ry + s - 1) / s;
  let classCols = (i32(wdt) - rx + s - 1) / s;
  let colBlocks = (classCols + i32(COLS) - 1) / i32(COLS);
  let block = i32(wid.x * WG + lid);
  if (block >= classRows * colBlocks) { return; }
  let a = block / colBlocks;
  let m = block % colBlocks;
  let iy = ry + s * a;
  let ix0 = rx + s * i32(COLS) * m;        // ix_j = ix0 + S j

  // 3. Accumulate over output channels o and the taps of this class. Lane c of acc[g][j] is input
  //    channel 4(cg0 + g) + c at column ix_j.
  var acc: array<array<vec4<f32>, COLS>, GMAX>;
  let kk = ksize * ksize;
  let outPlane = params.outHeight * params.outWidth;
  var dyPlane = n * cout * outPlane;       // offset of dy[n, o, 0, 0]
  var wTap = cg0 * cout * kk;              // offset of wt[cg0, o, 0, 0]
  var wGroup: array<u32, GMAX>;            // offset of wt[cg0 + g, o, ...] from wt[cg0, o, ...] (a group past the last: the last)
  let lastGroup = (cin + 3u) / 4u - 1u;
  for (var g = 1u; g < CGROUPS; g++) { wGroup[g] = (min(cg0 + g, lastGroup) - cg0) * cout * kk; }
  // The class's column taps are kx = kx0 + S t, t = 0 .. TAPS-1 while kx < K; tap t reads output
  // columns oxLow + (TAPS - 1 - t) + j, so one row of R = COLS + TAPS - 1 values, from oxLow,
  // serves every tap, column and group (loaded once per (o, ky)).
  let kx0 = u32(rx + p) % stride;
  let oxLow = (rx + p - i32(kx0)) / s + i32(COLS) * m - i32(TAPS - 1u);
  for (var o = 0u; o < cout; o++) {
    for (var ky = 0u; ky < ksize; ky++) {
      let ty = ry + p - i32(ky);
      if (ty % s != 0) { continue; }       // uniform: the same for the whole class
      let oy = ty / s + a;
      let rowOk = oy >= 0 && oy < oh;
      let row = dyPlane + u32(clamp(oy, 0, oh - 1)) * params.outWidth;
      // 4. The row of output gradients (0 outside the output), then per tap and group its weights
      //    for the group's 4 input channels times the COLS columns' gradients, taps in ascending kx.
      var d: array<f32, RMAX>;
      for (var r = 0u; r < COLS + TAPS - 1u; r++) {
        let ox = oxLow + i32(r);
        d[r] = select(0.0, dy[row + u32(clamp(ox, 0, ow - 1))], rowOk && ox >= 0 && ox < ow);
      }
      for (var t = 0u; t < TAPS; t++) {
        let kx = kx0 + stride * t;
        if (kx < ksize) {                  // uniform; no break, so the loop unrolls
          let e = TAPS - 1u - t;           // d[e + j] is column ox_j of this tap
          if (CGROUPS == 1u) {             // no group loop: SwiftShader pays for each loop entry
            let wv = wt[wTap + ky * ksize + kx];
            for (var j = 0u; j < COLS; j++) { acc[0][j] += d[e + j] * wv; }
          } else {
            for (var g = 0u; g < CGROUPS; g++) {
              let wv = wt[wGroup[g] + wTap + ky * ksize + kx];
              for (var j = 0u; j < COLS; j++) { acc[g][j] += d[e + j] * wv; }
            }
          }
        }
      }
    }
    dyPlane += outPlane;
    wTap += kk;
  }

  // 5. Epilogue (parts/conv2d-backward-store.wgsl): optional residual addend and ReLU mask, then
  //    store what exists.
  storeInputGradient(acc, n, cg0, iy, ix0);
}
