// affine-resample.wgsl: bilinear resampling of a batch of images, each through its own 2D affine
// sampling map, with zeros outside the source (grid_sample's padding_mode='zeros') and outside a
// destination window. One kernel serves every geometric transform of Lucent's render_vis (jitter,
// random scale with its zero pad, random rotation, the final crop): see src/featureviz/affine.ts.
//
//   dst[n,c,y,x] = sum over the 4 taps (x0 + i, y0 + j), i, j in {0, 1}, inside the source, of
//                  src[n,c,y0+j,x0+i] * wx_i * wy_j
//   where (px, py) = (a x + b y + e, c' x + d y + f) is image n's sampling map,
//         x0 = floor(px), wx_1 = px - x0, wx_0 = 1 - wx_1 (same in y),
//   and dst = 0 where (x, y) is outside image n's window [x0w, x1w) x [y0w, y1w).
//
// Images of one batch may have different sizes (per-image random scale): tensors are stored at a
// fixed stride, [N, C, strideH, strideW], image n occupying the top-left srcH x srcW (source) or
// dstH x dstW (destination) of its planes; destination elements beyond an image's extent get 0.
//
// Params and ResampleImage are declared in src/kernels/affine-resample.ts, which packs them and emits
// the structs before this file.
// Bindings (group 0):
//   0 params : uniform { batch, channels, srcStrideH, srcStrideW, dstStrideH, dstStrideW: u32 }
//   1 images : storage read, array<ResampleImage>   [N] per-image geometry (sizes, window, map and inverse)
//   2 src    : storage read, array<f32>             [N, C, srcStrideH, srcStrideW]
//   3 dst    : storage write, array<f32>            [N, C, dstStrideH, dstStrideW]; may not alias src
// Override constants: WG (threads per workgroup).
// Dispatch: workgroups (gx, gy, N*C) with (gx, gy) = grid1d(dstStrideH * ceil(dstStrideW / COLS), WG):
//   plane nc = workgroup_id.z; in-plane index t = global_id.x + global_id.y * gx * WG is row
//   t / ceil(dstStrideW / COLS), columns COLS (t % ceil(dstStrideW / COLS)) + 0..COLS-1.
// Invariants: every dst element is written, by one thread (0 outside extent or window); reads are
//   bounds-checked against image n's source extent. The adjoint is affine-resample-backward.wgsl,
//   which must compute (px, py), floor and weights with the same expressions as here. Each output
//   is computed with the same expressions, in the same order, as the earlier one-pixel-per-thread
//   form (test/reference/affine-resample-per-pixel.wgsl): the outputs are bit-identical to it.
//
// Why this shape: lavapipe runs 8 invocations as the lanes of one SIMD instruction; a load whose
// address is the same for all of them is one scalar load, one that differs per lane costs a loop
// over the lanes. The plane comes from the workgroup id, so image n's geometry (24 words) is read
// once per thread with uniform loads and reused for its COLS pixels. Batch 8 at layer4.1 on
// lavapipe (bench/fv-profile.mjs, all resample dispatches of a step, load 3 to 5 on 2 cores, back
// to back): per-pixel 195 to 310 ms; plane per workgroup layer with COLS = 1: 200, 2: 136,
// 4: 100 to 150, 8: 67 to 100, 16: 101.

override WG: u32 = 64u;

// Output pixels per thread, consecutive in a row.
const COLS: u32 = 8u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> images: array<ResampleImage>;
@group(0) @binding(2) var<storage, read> src: array<f32>;
@group(0) @binding(3) var<storage, read_write> dst: array<f32>;

// Source value at integer (x, y) of plane `base`, or 0 outside the image's extent.
fn tap(base: u32, x: i32, y: i32, size: vec2<u32>) -> f32 {
  if (x < 0 || y < 0 || x >= i32(size.x) || y >= i32(size.y)) { return 0.0; }
  return src[base + u32(y) * params.srcStrideW + u32(x)];
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(workgroup_id) wid: vec3u,
        @builtin(num_workgroups) groups: vec3u) {
  let groupsW = (params.dstStrideW + COLS - 1u) / COLS;
  let local = gid.x + gid.y * groups.x * WG;
  if (local >= params.dstStrideH * groupsW) { return; }
  // 1. Plane nc and image n from the workgroup (uniform); row y, columns x0 .. x0+COLS-1 from the thread.
  let nc = wid.z;
  let n = nc / params.channels;
  let y = i32(local / groupsW);
  let xFirst = i32(COLS * (local % groupsW));
  let row = nc * params.dstStrideH * params.dstStrideW + u32(y) * params.dstStrideW;
  let base = nc * params.srcStrideH * params.srcStrideW;
  let im = images[n];
  let fy = f32(y);
  let rowIn = y < i32(im.dstSize.y) && y >= im.window.y && y < im.window.w;
  for (var k = 0; k < i32(COLS); k++) {
    let x = xFirst + k;
    if (u32(x) >= params.dstStrideW) { break; }
    // 2. Outside the image's extent or window: 0.
    if (!rowIn || x >= i32(im.dstSize.x) || x < im.window.x || x >= im.window.z) {
      dst[row + u32(x)] = 0.0;
      continue;
    }
    // 3. Source position and bilinear weights (the adjoint recomputes them with these expressions).
    let fx = f32(x);
    let px = im.mapX.x * fx + im.mapX.y * fy + im.mapX.z;
    let py = im.mapY.x * fx + im.mapY.y * fy + im.mapY.z;
    let x0f = floor(px);
    let y0f = floor(py);
    let wx1 = px - x0f;
    let wy1 = py - y0f;
    let wx0 = 1.0 - wx1;
    let wy0 = 1.0 - wy1;
    let x0 = i32(x0f);
    let y0 = i32(y0f);
    // 4. The four taps, zero outside the source.
    dst[row + u32(x)] = tap(base, x0, y0, im.srcSize) * (wx0 * wy0) + tap(base, x0 + 1, y0, im.srcSize) * (wx1 * wy0)
                      + tap(base, x0, y0 + 1, im.srcSize) * (wx0 * wy1) + tap(base, x0 + 1, y0 + 1, im.srcSize) * (wx1 * wy1);
  }
}
