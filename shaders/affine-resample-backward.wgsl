// affine-resample-backward.wgsl: adjoint of affine-resample.wgsl, written as a gather (WGSL has no
// float atomics). Each source element collects the destination gradients of every destination
// pixel whose bilinear footprint touched it, with the same weight the forward used:
//
//   dsrc[n,c,qy,qx] = sum over destination pixels (x, y) inside image n's extent and window,
//                     with qx in {x0, x0+1} and qy in {y0, y0+1}, of ddst[n,c,y,x] * wx * wy
//
// The forward's weights, 1 - f at q = floor(p) and f at floor(p) + 1, are the tent
// max(0, 1 - |p - q|) (equal in exact arithmetic; in float32 this gather's sums agree with the
// earlier floor-based one's to 3e-7 of their scale, measured): a destination pixel touches (qx, qy) only if its source position lies in
// the open square (qx-1, qx+1) x (qy-1, qy+1). Each thread owns 4 consecutive source pixels of a
// row, qx .. qx+3. The preimage of their squares under the (invertible) sampling map lies in the
// box [min(d.x, d.x + 3 ia) - hx, max(..) + hx] x (the same in y), where d is the inverse image
// of (qx, qy), (ia, ic) the inverse's first column (one source pixel to the right), and
// hx = |ia| + |ib|, hy = |ic| + |id| (a unit step in both source coordinates), widened by EPS to
// absorb the float32 rounding of both maps. The thread walks that box's integer points, NX =
// floor(2 hx + 3 |ia|) + 1 columns by NY rows (the same for every thread of an image), recomputes
// each candidate's source position with the forward's expressions, reads its ddst once, and
// adds it with the 4 pixels' tent weights; candidates outside the extent or window add 0.
//
// Params and ResampleImage are declared in src/kernels/affine-resample.ts, which packs them and emits
// the structs before this file.
// Bindings (group 0):
//   0 params : uniform { batch, channels, srcStrideH, srcStrideW, dstStrideH, dstStrideW: u32 }
//   1 images : storage read, array<ResampleImage>   [N] as in affine-resample.wgsl
//   2 ddst   : storage read, array<f32>             [N, C, dstStrideH, dstStrideW]
//   3 dsrc   : storage write, array<f32>            [N, C, srcStrideH, srcStrideW]
// Override constants: WG (threads per workgroup).
// Dispatch: workgroups (gx, gy, N*C) with (gx, gy) = grid1d(srcStrideH * ceil(srcStrideW / 4), WG):
//   plane nc = workgroup_id.z; in-plane index t = global_id.x + global_id.y * gx * WG is row
//   t / ceil(srcStrideW / 4), columns 4 (t % ceil(srcStrideW / 4)) + 0..3.
// Invariants: every dsrc element is written, by one thread (0 beyond image n's source extent);
//   only destination elements inside the extent and window are read.
//
// Why this shape: lavapipe runs 8 invocations as the lanes of one SIMD instruction; a load whose
// address is the same for all of them is one scalar load, one that differs per lane costs ~8x,
// and lanes run every iteration any of them runs. The plane comes from the workgroup id, so image
// n's geometry is read with uniform loads and the box size NX x NY is uniform; the box is the
// preimage's exact bounding box, not its corners' floor - 1 .. ceil + 1 as before (25 to 36
// candidates per pixel). For Lucent's maps (scales 0.95 to 1.05, rotations up to 5 degrees,
// integer jitter) that is 10 to 18 candidates per 4 pixels (2.5 to 4.5 ddst loads per pixel, down
// from 25+). Batch 8 on lavapipe, back to back at load ~6 on 2 cores, one dispatch before ->
// after: random scale 224 -> 230 256 -> 32 ms, rotate 230 306 -> 22 ms, jitter 256 -> 240
// 276 -> 34 ms; one pixel per thread with the exact box was about 2x slower than this. In a
// whole step (bench/fv-profile.mjs) the transforms' backward: 760 -> ~100 ms at layer1.1.bn2,
// 1510 -> 165 to 320 ms at layer4.1.

override WG: u32 = 64u;

// Widening of the candidate box, in destination pixels: far above the float32 rounding of the
// maps (~1e-4 at coordinates of a few hundred), far below the gap to the next lattice point.
const EPS: f32 = 1.0 / 128.0;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> images: array<ResampleImage>;
@group(0) @binding(2) var<storage, read> ddst: array<f32>;
@group(0) @binding(3) var<storage, read_write> dsrc: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(workgroup_id) wid: vec3u,
        @builtin(num_workgroups) groups: vec3u) {
  let quadsW = (params.srcStrideW + 3u) / 4u;
  let local = gid.x + gid.y * groups.x * WG;
  if (local >= params.srcStrideH * quadsW) { return; }
  // 1. Plane nc and image n from the workgroup (uniform); row qy, columns qx .. qx+3 from the thread.
  let nc = wid.z;
  let n = nc / params.channels;
  let qy = i32(local / quadsW);
  let qx = 4 * i32(local % quadsW);
  let i = nc * params.srcStrideH * params.srcStrideW + u32(qy) * params.srcStrideW + u32(qx);
  let im = images[n];
  let srcW = i32(im.srcSize.x);
  var acc = vec4<f32>(0.0);
  // Window and extent: destination pixels outside add nothing. An empty one is skipped (uniform).
  let xMin = max(im.window.x, 0);
  let yMin = max(im.window.y, 0);
  let xEnd = min(im.window.z, i32(im.dstSize.x));
  let yEnd = min(im.window.w, i32(im.dstSize.y));
  if (qx < srcW && qy < i32(im.srcSize.y) && xMin < xEnd && yMin < yEnd) {
    // 2. The candidate box (see above): corner (x0, y0), nx by ny points.
    let fqx = vec4<f32>(f32(qx), f32(qx + 1), f32(qx + 2), f32(qx + 3));
    let fqy = f32(qy);
    let d = vec2<f32>(im.inverseX.x * fqx.x + im.inverseX.y * fqy + im.inverseX.z,
                      im.inverseY.x * fqx.x + im.inverseY.y * fqy + im.inverseY.z);
    let hx = abs(im.inverseX.x) + abs(im.inverseX.y) + EPS;
    let hy = abs(im.inverseY.x) + abs(im.inverseY.y) + EPS;
    let nx = i32(floor(2.0 * hx + 3.0 * abs(im.inverseX.x))) + 1;
    let ny = i32(floor(2.0 * hy + 3.0 * abs(im.inverseY.x))) + 1;
    let x0 = i32(ceil(min(d.x, d.x + 3.0 * im.inverseX.x) - hx));
    let y0 = i32(ceil(min(d.y, d.y + 3.0 * im.inverseY.x) - hy));
    // 3. Gather: (px, py) by the forward's expressions, one ddst read for the 4 pixels' tents.
    let base = nc * params.dstStrideH * params.dstStrideW;
    for (var ty = 0; ty < ny; ty++) {
      let y = y0 + ty;
      let rowOk = y >= yMin && y < yEnd;
      let row = base + u32(clamp(y, yMin, yEnd - 1)) * params.dstStrideW;
      let fy = f32(y);
      for (var tx = 0; tx < nx; tx++) {
        let x = x0 + tx;
        let fx = f32(x);
        let px = im.mapX.x * fx + im.mapX.y * fy + im.mapX.z;
        let py = im.mapY.x * fx + im.mapY.y * fy + im.mapY.z;
        let wy = max(0.0, 1.0 - abs(py - fqy));
        let g = select(0.0, ddst[row + u32(clamp(x, xMin, xEnd - 1))], rowOk && x >= xMin && x < xEnd) * wy;
        acc += g * max(vec4<f32>(0.0), 1.0 - abs(px - fqx));
      }
    }
  }
  // 4. Store the columns inside the stride; those beyond the image's extent get 0.
  for (var k = 0; k < 4; k++) {
    if (u32(qx + k) < params.srcStrideW) { dsrc[i + u32(k)] = select(0.0, acc[k], qx + k < srcW); }
  }
}
