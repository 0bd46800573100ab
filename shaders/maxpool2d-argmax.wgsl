// maxpool2d-argmax.wgsl: first pass of the max-pooling backward (kernel K, stride S, padding P,
// floor mode): each window's argmax, as the flat in-plane index iy * W + ix of the input element
// it picked, with PyTorch's tie rule: the first maximum in row-major scan order of the window's
// in-image positions (padding never wins; a later value replaces the pick only if strictly greater).
// maxpool2d-backward.wgsl then gathers dy through these picks.
//
//   argmax[n,c,oy,ox] = iy * W + ix of the pick of window (oy, ox)
//                       or NONE (0xffffffff) when RELU_MASK and the window's max is <= 0
//
// RELU_MASK folds in the backward of the ReLU that produced x (dx = 0 where x <= 0): an element
// receives gradient only from windows that picked it, and each such window's max is that
// element's value, so dropping the windows whose max is <= 0 is the mask, exactly.
// Inputs are assumed finite (PyTorch lets NaN win; not handled).
//
// Bindings (group 0):
//   0 params : uniform Params, declared (each member explained) and packed in src/kernels/maxpool2d-backward.ts,
//              which emits the struct before this file
//   1 x      : storage read,  array<f32>   NCHW [N, C, H, W], the forward input
//   2 argmax : storage write, array<u32>   [N, C, OH, OW]
// Override constants: KSIZE (K), STRIDE (S), RELU_MASK, WG (threads per workgroup); padding is a uniform.
// Dispatch: grid1d(N*C*OH*OW, WG); flat index global_id.x + global_id.y * gx * WG is the window's
//   NCHW index. Threads past `windows` return without writing; each argmax is written once.
//
// Why this shape: the one-pass backward re-derived the argmax of every window containing each
// input element (~36 loads per element); here each window is scanned once (9 loads for a 3x3
// window, ~2.3 per input element). The K x K loop has constant bounds, positions in the padding
// read a clamped in-image address and are masked out, so all lanes of a SIMD group run the same
// iterations (lavapipe runs 8 as one). Measured on lavapipe, batch 8, 64x115x115 stem map, back to
// back at load ~5 on 2 cores: one-pass 881 / 1113 ms; this pass 51 / 68 ms plus the gather 93 /
// 92 ms (the forward maxpool took 56 to 90 ms in the same runs).

override KSIZE: u32 = 3u;
override STRIDE: u32 = 2u;
override RELU_MASK: bool = false;
override WG: u32 = 256u;

const NONE: u32 = 0xffffffffu;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> argmax: array<u32>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let i = gid.x + gid.y * groups.x * WG;
  if (i >= params.windows) { return; }
  let h = i32(params.inHeight);
  let w = i32(params.inWidth);
  // 1. Decompose: plane nc, window (oy, ox); the window's top-left in signed input coordinates.
  let ox = i32(i % params.outWidth);
  let oy = i32((i / params.outWidth) % params.outHeight);
  let nc = i / (params.outWidth * params.outHeight);
  let xPlane = nc * params.inHeight * params.inWidth;
  let y0 = oy * i32(STRIDE) - params.padding;
  let x0 = ox * i32(STRIDE) - params.padding;

  // 2. Scan in row-major order; the first in-image position is taken, then only strictly greater.
  var best = 0.0;
  var pick = NONE;
  var first = true;
  for (var ky = 0; ky < i32(KSIZE); ky++) {
    let yy = y0 + ky;
    let rowIn = yy >= 0 && yy < h;
    let row = clamp(yy, 0, h - 1) * w;
    for (var kx = 0; kx < i32(KSIZE); kx++) {
      let xx = x0 + kx;
      let v = x[xPlane + u32(row + clamp(xx, 0, w - 1))];
      if (rowIn && xx >= 0 && xx < w && (first || v > best)) {
        best = v;
        pick = u32(yy * w + xx);
        first = false;
      }
    }
  }
  // 3. The fused ReLU mask: a window whose max is <= 0 routes nothing.
  if (RELU_MASK && !(best > 0.0)) { pick = NONE; }
  argmax[i] = pick;
}
