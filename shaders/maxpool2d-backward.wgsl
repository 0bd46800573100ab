// maxpool2d-backward.wgsl: gradient of max pooling (kernel K, stride S, padding P, floor mode) with
// respect to its input. Each output's gradient goes to the one input its window picked, the argmax
// with PyTorch's tie rule: the first maximum in row-major scan order of the window's in-image
// positions (padding never wins). Written as a gather, without atomics:
//
//   dx[n,c,iy,ix] = sum over windows (oy, ox) that contain (iy, ix) and whose argmax is (iy, ix)
//                   of dy[n,c,oy,ox]
//
// Each thread re-derives the argmax of every window containing its element from the forward input
// x, with the same comparisons as PyTorch (max so far starts at -inf at the window's first valid
// position; a later value replaces it only if strictly greater), so a tie is routed exactly as
// PyTorch routes it. Optionally (RELU_MASK) the ReLU that produced x is folded in: dx = 0 where
// x <= 0 (x is that ReLU's output). Inputs are assumed finite (PyTorch lets NaN win; not handled).
//
// Bindings (group 0):
//   0 params : uniform Params, declared (each member explained) and packed in src/kernels/maxpool2d-backward.ts,
//              which emits the struct before this file
//   1 x      : storage read,  array<f32>   NCHW [N, C, H, W], the forward input
//   2 dy     : storage read,  array<f32>   NCHW [N, C, OH, OW]
//   3 dx     : storage write, array<f32>   NCHW [N, C, H, W]; may not alias x or dy
// Override constants: KSIZE (K), STRIDE (S), WG (threads per workgroup); padding is a uniform.
// Dispatch: grid1d(N*C*H*W, WG): workgroups (gx, gy, 1) of WG threads; flat index
//   global_id.x + global_id.y * gx * WG is the NCHW index of the input element.
// Invariants: threads past `count` return without writing; each dx element has one writer. The
//   windows containing iy are oy in [ceil((iy + P - K + 1) / S), floor((iy + P) / S)] within [0, OH).

override KSIZE: u32 = 3u;
override STRIDE: u32 = 2u;
override RELU_MASK: bool = false;
override WG: u32 = 256u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> dy: array<f32>;
@group(0) @binding(3) var<storage, read_write> dx: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let i = gid.x + gid.y * groups.x * WG;
  if (i >= params.count) { return; }
  let h = i32(params.inHeight);
  let w = i32(params.inWidth);
  let oh = i32(params.outHeight);
  let ow = i32(params.outWidth);
  let k = i32(KSIZE);
  let s = i32(STRIDE);
  let p = params.padding;

  // 1. Decompose the flat index: plane nc, row iy, column ix.
  let plane = i / u32(h * w);
  let iy = i32(i % u32(h * w)) / w;
  let ix = i32(i % u32(h * w)) % w;
  let xPlane = plane * u32(h * w);
  let dyPlane = plane * u32(oh * ow);

  // 2. The range of windows containing (iy, ix): oy*S - P <= iy <= oy*S - P + K - 1, i.e.
  //    ceil((iy + P - K + 1) / S) <= oy <= floor((iy + P) / S), clipped to the output. A
  //    non-positive numerator gives a lower bound of 0 (avoids dividing negative integers).
  let ty = iy + p - k + 1;
  let tx = ix + p - k + 1;
  let oyLo = select(0, (ty + s - 1) / s, ty > 0);
  let oxLo = select(0, (tx + s - 1) / s, tx > 0);
  let oyHi = min(oh - 1, (iy + p) / s);
  let oxHi = min(ow - 1, (ix + p) / s);

  var acc = 0.0;
  for (var oy = oyLo; oy <= oyHi; oy++) {
    for (var ox = oxLo; ox <= oxHi; ox++) {
      // 3. The argmax of window (oy, ox), scanning its in-image positions in row-major order.
      let y0 = oy * s - p;
      let x0 = ox * s - p;
      let yStart = max(y0, 0);
      let xStart = max(x0, 0);
      let yEnd = min(y0 + k, h);
      let xEnd = min(x0 + k, w);
      var best = -3.402823e+38;   // below every finite float32; the first position is taken below
      var bestY = yStart;
      var bestX = xStart;
      var first = true;
      for (var yy = yStart; yy < yEnd; yy++) {
        for (var xx = xStart; xx < xEnd; xx++) {
          let v = x[xPlane + u32(yy * w + xx)];
          if (first || v > best) {
            best = v;
            bestY = yy;
            bestX = xx;
            first = false;
          }
        }
      }
      // 4. This element receives the window's gradient if it is the window's pick.
      if (bestY == iy && bestX == ix) {
        acc += dy[dyPlane + u32(oy * ow + ox)];
      }
    }
  }
  if (RELU_MASK) { acc = select(0.0, acc, x[i] > 0.0); }
  dx[i] = acc;
}
