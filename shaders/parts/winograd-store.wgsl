// winograd-store.wgsl: the epilogue store of the Winograd output transforms
// (conv2d-winograd{,4,4s2}-output.wgsl), which declare `y`, `yRelu` and Params' outHeight, outWidth
// and relu (1: y = max(y, 0); 2: y as it is and yRelu = max(y, 0)); and a row of a 4x4 tile's
// outputs (putRow, F(4x4, 3x3) at either stride).

/** Output (oy, ox) of the plane at `base` = value * sc + sh, with the ReLU mode; nothing past the last row or column. */
fn storeOutput(base: u32, oy: u32, ox: u32, value: f32, sc: f32, sh: f32) {
  if (oy >= params.outHeight || ox >= params.outWidth) { return; }
  var out = value * sc + sh;
  if (params.relu == 1u) { out = max(out, 0.0); }
  y[base + oy * params.outWidth + ox] = out;
  if (params.relu == 2u) { yRelu[base + oy * params.outWidth + ox] = max(out, 0.0); }
}

/** Output row oy of a 4x4 tile (columns ox .. ox+3, `row` as A^T over a row of P gave it), unless past the last row. */
fn putRow(base: u32, oy: u32, ox: u32, row: vec4<f32>, sc: f32, sh: f32) {
  if (oy >= params.outHeight) { return; }
  storeOutput(base, oy, ox, row.x, sc, sh);
  storeOutput(base, oy, ox + 1u, row.y, sc, sh);
  storeOutput(base, oy, ox + 2u, row.z, sc, sh);
  storeOutput(base, oy, ox + 3u, row.w, sc, sh);
}
