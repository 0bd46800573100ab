// affine-resample-per-pixel.wgsl (test reference): the per-pixel form of shaders/affine-resample.wgsl,
// one thread per destination element with its image's geometry loaded per thread, as the engine
// ran it until the kernel moved to a plane per workgroup layer and 4 pixels per thread. Kept so
// the tests can pin the engine's kernel to the same float32 arithmetic per output, bit for bit,
// on the adapter under test (a JS emulation cannot: the compilers may contract a * b + c).
//
// Bilinear resampling of a batch of images, each through its own 2D affine
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
// Dispatch: grid1d(N*C*dstStrideH*dstStrideW, WG); flat index is the NCHW index into dst.
// Invariants: every dst element is written (0 outside extent or window); reads are bounds-checked
//   against image n's source extent. The adjoint is affine-resample-backward.wgsl, which must
//   compute (px, py), floor and weights with the same expressions as here.

override WG: u32 = 64u;

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
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let i = gid.x + gid.y * groups.x * WG;
  let dstPlane = params.dstStrideH * params.dstStrideW;
  if (i >= params.batch * params.channels * dstPlane) { return; }
  // 1. Decompose: image n, channel c, destination pixel (x, y).
  let nc = i / dstPlane;
  let n = nc / params.channels;
  let x = i32(i % params.dstStrideW);
  let y = i32((i % dstPlane) / params.dstStrideW);
  let im = images[n];
  // 2. Outside the image's extent or window: 0.
  if (x >= i32(im.dstSize.x) || y >= i32(im.dstSize.y) ||
      x < im.window.x || y < im.window.y || x >= im.window.z || y >= im.window.w) {
    dst[i] = 0.0;
    return;
  }
  // 3. Source position and bilinear weights.
  let fx = f32(x);
  let fy = f32(y);
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
  let base = nc * params.srcStrideH * params.srcStrideW;
  dst[i] = tap(base, x0, y0, im.srcSize) * (wx0 * wy0) + tap(base, x0 + 1, y0, im.srcSize) * (wx1 * wy0)
         + tap(base, x0, y0 + 1, im.srcSize) * (wx0 * wy1) + tap(base, x0 + 1, y0 + 1, im.srcSize) * (wx1 * wy1);
}
