// conv2d-backward-store.wgsl: the last step of conv2d-backward.wgsl and conv2d-backward-subgroup.wgsl.
// A thread's gradients, acc[g][j] lane c = input channel 4(cg0 + g) + c at column ix0 + S j of
// input row iy of image n, get the optional residual addend (params.add) and ReLU mask
// (params.mask), and those that exist (channels < Cin, columns < W) are stored into dx. Needs the
// kernel's COLS, GMAX, CGROUPS and STRIDE, Params' inChannels, inHeight, inWidth, add and mask, and
// the bindings addend, mask and dx.

fn storeInputGradient(acc: array<array<vec4<f32>, COLS>, GMAX>, n: u32, cg0: u32, iy: i32, ix0: i32) {
  let cin = params.inChannels;
  let wdt = params.inWidth;
  let s = i32(STRIDE);
  let plane = params.inHeight * wdt;
  let rowBase = u32(iy) * wdt;
  for (var g = 0u; g < CGROUPS; g++) {
    for (var c = 0u; c < 4u; c++) {
      let ci = 4u * (cg0 + g) + c;
      if (ci >= cin) { break; }
      let base = (n * cin + ci) * plane + rowBase;
      for (var j = 0; j < i32(COLS); j++) {
        let ix = ix0 + s * j;
        if (ix >= i32(wdt)) { break; }
        let i = base + u32(ix);
        var r = acc[g][j][c];
        if (params.add != 0u) { r += addend[i]; }
        if (params.mask != 0u) { r = select(0.0, r, mask[i] > 0.0); }
        dx[i] = r;
      }
    }
  }
}
