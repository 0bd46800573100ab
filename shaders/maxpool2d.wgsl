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
// Override constants: WG (threads per workgroup).
// Dispatch: grid1d(count, WG), one thread per output; flat index i = global_id.x + global_id.y * gx * WG.
// Invariants: threads past `count` return without writing; each output is written once. Ties are
// harmless (the value is the same whichever element wins). NaN inputs follow WGSL's max(), which
// need not propagate NaN as PyTorch does.

override WG: u32 = 256u;

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
  var m = x[plane + y0 * params.inWidth + x0];
  for (var iy = y0; iy < y1; iy++) {
    let row = plane + iy * params.inWidth;
    for (var ix = x0; ix < x1; ix++) {
      m = max(m, x[row + ix]);
    }
  }
  y[i] = m;
}
