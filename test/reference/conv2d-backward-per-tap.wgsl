// conv2d-backward-per-tap.wgsl (test reference): the earlier form of shaders/conv2d-backward.wgsl,
// 4 input columns per thread, each tap loading its 4 output gradients itself, as the engine ran
// it until the kernel moved to one row of output gradients per (o, ky) shared by the class's
// column taps, and 8 columns per thread. Kept so the tests can pin the engine's kernel to the
// same float32 sums per output, bit for bit, on the adapter under test. Dispatch as the header
// below says, with COLS = 4.
//
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
// K and S are override constants (the tap loops unroll; one pipeline per (K, S): the network
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
// Register blocking (the mirror of conv2d.wgsl): each thread owns 4 input channels (cg = wid.y,
// ci = 4cg .. 4cg+3) x COLS (= 4) pixels of one class row, ix_j = rx + S (4m + j), whose output
// columns ox_j = (rx + P - kx)/S + 4m + j are consecutive. Per output channel and tap it loads one
// weight vec4 (the 4 input channels; uniform across the workgroup) and 4 output gradients of one
// row, and does 16 multiply-adds, acc[j] += dy_j * wt.
//
// Dispatch grid (see conv2dBackwardDispatch): (tiles, ceil(Cin / 4), N * S * S) workgroups,
//   tiles = ceil(ceil(H/S) * ceil(ceil(W/S) / COLS) / WG), the blocks of the largest class;
//   wid.z = n * S * S + ry * S + rx.
//
// Invariants:
//   - threads whose block lies past their class's rows return without writing; every dx element
//     is written by exactly one thread (channels >= Cin and columns ix_j >= W are computed and
//     not written);
//   - every read of dy is clamped into the tensor and masked to 0 when (oy, ox) is out of range.

override KSIZE: u32 = 3u;
override STRIDE: u32 = 1u;
override WG: u32 = 64u;

const COLS: u32 = 4u;

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

  // 1. Decompose the workgroup id: image n, stride class (ry, rx), input-channel group cg.
  let classes = stride * stride;
  let n = wid.z / classes;
  let ry = i32((wid.z % classes) / stride);
  let rx = i32(wid.z % stride);
  let cg = wid.y;
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

  // 3. Accumulate over output channels o and the taps of this class. Lane c of acc[j] is input
  //    channel 4cg + c at column ix_j.
  var acc0 = vec4<f32>(0.0);
  var acc1 = vec4<f32>(0.0);
  var acc2 = vec4<f32>(0.0);
  var acc3 = vec4<f32>(0.0);
  let kk = ksize * ksize;
  let outPlane = params.outHeight * params.outWidth;
  var dyPlane = n * cout * outPlane;       // offset of dy[n, o, 0, 0]
  var wTap = cg * cout * kk;               // offset of wt[cg, o, 0, 0]
  for (var o = 0u; o < cout; o++) {
    for (var ky = 0u; ky < ksize; ky++) {
      let ty = ry + p - i32(ky);
      if (ty % s != 0) { continue; }       // uniform: the same for the whole class
      let oy = ty / s + a;
      let rowOk = oy >= 0 && oy < oh;
      let row = dyPlane + u32(clamp(oy, 0, oh - 1)) * params.outWidth;
      for (var kx = 0u; kx < ksize; kx++) {
        let tx = rx + p - i32(kx);
        if (tx % s != 0) { continue; }     // uniform
        let ox = tx / s + i32(COLS) * m;   // ox_j = ox + j
        // 4. The output gradients at the 4 columns (0 outside the output) times the tap's
        //    weights for the 4 input channels.
        let wv = wt[wTap + ky * ksize + kx];
        let d0 = select(0.0, dy[row + u32(clamp(ox, 0, ow - 1))], rowOk && ox >= 0 && ox < ow);
        let d1 = select(0.0, dy[row + u32(clamp(ox + 1, 0, ow - 1))], rowOk && ox + 1 >= 0 && ox + 1 < ow);
        let d2 = select(0.0, dy[row + u32(clamp(ox + 2, 0, ow - 1))], rowOk && ox + 2 >= 0 && ox + 2 < ow);
        let d3 = select(0.0, dy[row + u32(clamp(ox + 3, 0, ow - 1))], rowOk && ox + 3 >= 0 && ox + 3 < ow);
        acc0 += d0 * wv;
        acc1 += d1 * wv;
        acc2 += d2 * wv;
        acc3 += d3 * wv;
      }
    }
    dyPlane += outPlane;
    wTap += kk;
  }

  // 5. Epilogue: optional residual addend and ReLU mask, then store what exists.
  let plane = h * wdt;
  let rowBase = u32(iy) * wdt;
  for (var c = 0u; c < 4u; c++) {
    let ci = 4u * cg + c;
    if (ci >= cin) { break; }
    let base = (n * cin + ci) * plane + rowBase;
    let v = vec4<f32>(acc0[c], acc1[c], acc2[c], acc3[c]);
    for (var j = 0; j < 4; j++) {
      let ix = ix0 + s * j;
      if (ix >= i32(wdt)) { break; }
      let i = base + u32(ix);
      var r = v[j];
      if (params.add != 0u) { r += addend[i]; }
      if (params.mask != 0u) { r = select(0.0, r, mask[i] > 0.0); }
      dx[i] = r;
    }
  }
}
