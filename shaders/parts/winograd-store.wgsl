// winograd-store.wgsl: the epilogue store of both Winograd output transforms
// (conv2d-winograd{,4}-output.wgsl), which declare `y`, `yRelu` and Params' outHeight, outWidth
// and relu (1: y = max(y, 0); 2: y as it is and yRelu = max(y, 0)).

/** Output (oy, ox) of the plane at `base` = value * sc + sh, with the ReLU mode; nothing past the last row or column. */
fn storeOutput(base: u32, oy: u32, ox: u32, value: f32, sc: f32, sh: f32) {
  if (oy >= params.outHeight || ox >= params.outWidth) { return; }
  var out = value * sc + sh;
  if (params.relu == 1u) { out = max(out, 0.0); }
  y[base + oy * params.outWidth + ox] = out;
  if (params.relu == 2u) { yRelu[base + oy * params.outWidth + ox] = max(out, 0.0); }
}
