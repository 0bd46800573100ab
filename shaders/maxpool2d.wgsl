// maxpool2d.wgsl: 2D max pooling with PyTorch's MaxPool2d semantics (floor mode, dilation 1),
//
//   y[n,c,oy,ox] = max over ky, kx < K of x[n, c, oy*S - P + ky, ox*S - P + kx]
//
// where window positions in the padding never win (PyTorch pads with -inf). Instead of an -inf
// constant the kernel clips the window to the input; PyTorch requires P <= K/2, so every clipped
// window holds at least one input element (checked by maxpool2dDispatch).
//
// Params (binding 0) is declared in src/kernels/maxpool2d.ts, which packs it and emits the struct before this file.
// Bindings (group 0):
//   0 params : uniform { inHeight, inWidth, outHeight, outWidth, kernel, stride: u32, padding: i32, count: u32 }
//              count = N * C * OH * OW
//   1 x      : storage read,  array<f32>   NCHW [N, C, H, W]
//   2 y      : storage write, array<f32>   NCHW [N, C, OH, OW]; may not alias x
// Override constants: WG (threads per workgroup); WINDOW3 (the window is 3x3: written out, 9
// loads and no loops, src/kernels/maxpool2d.ts sets it where params.kernel is 3). On lavapipe a
// loop whose bounds differ between lanes runs under a lane mask and its loop-carried max is stored
// through that mask; ResNet's stem pool (3x3, stride 2) ran faster written out (maxpool2dDispatch).
// Dispatch: grid1d(count, WG), one thread per output; flat index i = global_id.x + global_id.y * gx * WG.
// Invariants: threads past `count` return without writing; each output is written once. Ties are
// harmless (the value is the same whichever element wins). NaN inputs follow WGSL's max(), which
// need not propagate NaN as PyTorch does.

override WG: u32 = 256u;
override WINDOW3: bool = false;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  // 1. Flat output index i = (nc * OH + oy) * OW + ox, nc = n * C + c.
  let i = gid.x + gid.y * groups.x * WG;
  if (i >= params.count) { return; }
  let ox = i % params.outWidth;
  let oy = (i / params.outWidth) % params.outHeight;
  let nc = i / (params.outWidth * params.outHeight);

  // 2. The window in signed input coordinates, clipped to the input: rows y0 .. y1-1, columns x0 .. x1-1.
  let wy = i32(oy * params.stride) - params.padding;
  let wx = i32(ox * params.stride) - params.padding;
  let h = i32(params.inHeight);
  let w = i32(params.inWidth);
  let k = i32(params.kernel);
  let y0 = u32(max(wy, 0));
  let y1 = u32(min(wy + k, h));
  let x0 = u32(max(wx, 0));
  let x1 = u32(min(wx + k, w));

  // 3. Max over the clipped window, starting from its first element (no -inf needed).
  let plane = nc * params.inHeight * params.inWidth;
  if (WINDOW3) {
    // Each tap read at its position clamped into the input: a clamped position lies in the clipped
    // window (rows y0 .. y1-1, columns x0 .. x1-1), so the 9 values are the window's elements,
    // some of them twice, and their maximum is the window's. No masks.
    let r0 = plane + u32(clamp(wy, 0, h - 1)) * params.inWidth;
    let r1 = plane + u32(clamp(wy + 1, 0, h - 1)) * params.inWidth;
    let r2 = plane + u32(clamp(wy + 2, 0, h - 1)) * params.inWidth;
    let c0 = u32(clamp(wx, 0, w - 1));
    let c1 = u32(clamp(wx + 1, 0, w - 1));
    let c2 = u32(clamp(wx + 2, 0, w - 1));
    let top = max(max(x[r0 + c0], x[r0 + c1]), x[r0 + c2]);
    let middle = max(max(x[r1 + c0], x[r1 + c1]), x[r1 + c2]);
    let bottom = max(max(x[r2 + c0], x[r2 + c1]), x[r2 + c2]);
    y[i] = max(max(top, middle), bottom);
    return;
  }
  var m = x[plane + y0 * params.inWidth + x0];
  for (var iy = y0; iy < y1; iy++) {
    let row = plane + iy * params.inWidth;
    for (var ix = x0; ix < x1; ix++) {
      m = max(m, x[row + ix]);
    }
  }
  y[i] = m;
}
