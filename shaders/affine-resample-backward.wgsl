// affine-resample-backward.wgsl: adjoint of affine-resample.wgsl, written as a gather (WGSL has no
// float atomics). Each source element collects the destination gradients of every destination
// pixel whose bilinear footprint touched it, with the same weight the forward used:
//
//   dsrc[n,c,qy,qx] = sum over destination pixels (x, y) inside image n's extent and window,
//                     with qx in {x0, x0+1} and qy in {y0, y0+1}, of ddst[n,c,y,x] * wx * wy
//
// A destination pixel can touch (qx, qy) only if its source position lies in the open square
// (qx-1, qx+1) x (qy-1, qy+1). Its preimage under the (invertible) sampling map is a
// parallelogram; the thread walks the bounding box of that parallelogram's corners (mapped by the
// per-image inverse, widened by one pixel for rounding), clipped to the extent and window, and
// recomputes each candidate's source position, floor and weights with the forward's expressions.
//
// Params and ResampleImage are declared in src/kernels/affine-resample.ts, which packs them and emits
// the structs before this file.
// Bindings (group 0):
//   0 params : uniform { batch, channels, srcStrideH, srcStrideW, dstStrideH, dstStrideW: u32 }
//   1 images : storage read, array<ResampleImage>   [N] as in affine-resample.wgsl
//   2 ddst   : storage read, array<f32>             [N, C, dstStrideH, dstStrideW]
//   3 dsrc   : storage write, array<f32>            [N, C, srcStrideH, srcStrideW]
// Override constants: WG (threads per workgroup).
// Dispatch: grid1d(N*C*srcStrideH*srcStrideW, WG); flat index is the NCHW index into dsrc.
// Invariants: every dsrc element is written (0 beyond image n's source extent); only destination
//   elements inside the extent and window are read.

override WG: u32 = 64u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> images: array<ResampleImage>;
@group(0) @binding(2) var<storage, read> ddst: array<f32>;
@group(0) @binding(3) var<storage, read_write> dsrc: array<f32>;

// Bilinear weight of integer coordinate q for a sample at p (as the forward: floor, then 1 - f or f).
fn weight(p: f32, q: i32) -> f32 {
  let p0 = floor(p);
  let f = p - p0;
  let k = i32(p0);
  if (q == k) { return 1.0 - f; }
  if (q == k + 1) { return f; }
  return 0.0;
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let i = gid.x + gid.y * groups.x * WG;
  let srcPlane = params.srcStrideH * params.srcStrideW;
  if (i >= params.batch * params.channels * srcPlane) { return; }
  // 1. Decompose: image n, channel c, source pixel (qx, qy).
  let nc = i / srcPlane;
  let n = nc / params.channels;
  let qx = i32(i % params.srcStrideW);
  let qy = i32((i % srcPlane) / params.srcStrideW);
  let im = images[n];
  if (qx >= i32(im.srcSize.x) || qy >= i32(im.srcSize.y)) {
    dsrc[i] = 0.0;
    return;
  }
  // 2. Bounding box of the destination pixels whose source position is within 1 of (qx, qy).
  var lo = vec2<f32>(3.0e38);
  var hi = vec2<f32>(-3.0e38);
  for (var corner = 0u; corner < 4u; corner++) {
    let sx = f32(qx) + select(-1.0, 1.0, (corner & 1u) != 0u);
    let sy = f32(qy) + select(-1.0, 1.0, (corner & 2u) != 0u);
    let d = vec2<f32>(im.inverseX.x * sx + im.inverseX.y * sy + im.inverseX.z,
                      im.inverseY.x * sx + im.inverseY.y * sy + im.inverseY.z);
    lo = min(lo, d);
    hi = max(hi, d);
  }
  let xLo = max(max(i32(floor(lo.x)) - 1, im.window.x), 0);
  let yLo = max(max(i32(floor(lo.y)) - 1, im.window.y), 0);
  let xHi = min(min(i32(ceil(hi.x)) + 1, im.window.z - 1), i32(im.dstSize.x) - 1);
  let yHi = min(min(i32(ceil(hi.y)) + 1, im.window.w - 1), i32(im.dstSize.y) - 1);
  // 3. Gather with the forward's weights.
  let base = nc * params.dstStrideH * params.dstStrideW;
  var acc = 0.0;
  for (var y = yLo; y <= yHi; y++) {
    for (var x = xLo; x <= xHi; x++) {
      let fx = f32(x);
      let fy = f32(y);
      let px = im.mapX.x * fx + im.mapX.y * fy + im.mapX.z;
      let py = im.mapY.x * fx + im.mapY.y * fy + im.mapY.z;
      let w = weight(px, qx) * weight(py, qy);
      if (w != 0.0) {
        acc += ddst[base + u32(y) * params.dstStrideW + u32(x)] * w;
      }
    }
  }
  dsrc[i] = acc;
}
