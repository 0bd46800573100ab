// conv2d-epilogue.wgsl: the last step of conv2d.wgsl and conv2d-rows.wgsl. A thread holds 8 output
// channels x COLS (override of the kernel, 7 or 8) neighbouring columns of one output row, as 16
// vec4 accumulators: a0..a7 (channels 8g .. 8g+3, columns ox0 .. ox0+7) and b0..b7 (channels
// 8g+4 .. 8g+7). Each gets the per-channel affine (folded BatchNorm, or scale 1 and the bias) and
// the ReLU mode (params.relu: 0 none, 1 ReLU, 2 both: y gets the affine result and yRelu its ReLU,
// when a tap before the ReLU is read back), and the part that exists is stored: channel o of column
// ox0+j goes to y[((n*Cout + o)*OH + oy)*OW + ox0+j]. Needs Params' outChannels, outHeight, outWidth
// and relu, and the bindings of conv2d-io.wgsl.
//
// STORE_LOOP (override, see epilogue()): the columns stored in a loop with a bound known only at
// run time (true), or written out one call per column (false: SwiftShader's form).

override STORE_LOOP: bool = true;

/**
 * y = act(acc * scale + shift) of column ox0 + j for output channels o0 .. o0+3, stored at
 * y[rowBase + c * OH*OW + ox0 + j] (rowBase = offset of y[n, o0, oy, 0]) for the channels and the
 * column that exist.
 */
fn store(acc: vec4<f32>, sc: vec4<f32>, sh: vec4<f32>, o0: u32, rowBase: u32, ox0: u32, j: u32) {
  if (j >= COLS || ox0 + j >= params.outWidth) { return; }
  var r = acc * sc + sh;
  if (params.relu == 1u) { r = max(r, vec4<f32>(0.0)); }
  let outPlane = params.outHeight * params.outWidth;
  for (var c = 0u; c < 4u; c++) {
    if (o0 + c < params.outChannels) {
      y[rowBase + c * outPlane + ox0 + j] = r[c];
      if (params.relu == 2u) { yRelu[rowBase + c * outPlane + ox0 + j] = max(r[c], 0.0); }
    }
  }
}

/** The epilogue of image n, channel group g, output row oy, first column ox0. */
fn epilogue(n: u32, g: u32, oy: u32, ox0: u32,
    a0: vec4<f32>, a1: vec4<f32>, a2: vec4<f32>, a3: vec4<f32>, a4: vec4<f32>, a5: vec4<f32>, a6: vec4<f32>, a7: vec4<f32>,
    b0: vec4<f32>, b1: vec4<f32>, b2: vec4<f32>, b3: vec4<f32>, b4: vec4<f32>, b5: vec4<f32>, b6: vec4<f32>, b7: vec4<f32>) {
  let cout = params.outChannels;
  let outPlane = params.outHeight * params.outWidth;
  let oa = 8u * g;       // channels of a0..a7
  let ob = 8u * g + 4u;  // channels of b0..b7
  var sca = vec4<f32>(0.0); var sha = vec4<f32>(0.0);
  var scb = vec4<f32>(0.0); var shb = vec4<f32>(0.0);
  for (var c = 0u; c < 4u; c++) {
    sca[c] = scale[min(oa + c, cout - 1u)]; sha[c] = shift[min(oa + c, cout - 1u)];
    scb[c] = scale[min(ob + c, cout - 1u)]; shb[c] = shift[min(ob + c, cout - 1u)];
  }
  let rowA = ((n * cout + oa) * params.outHeight + oy) * params.outWidth;   // y[n, oa, oy, 0]
  let rowB = rowA + 4u * outPlane;                                          // y[n, ob, oy, 0]
  if (STORE_LOOP) {
    // The columns that exist (COLS, fewer in a row's last block) in a loop whose bound is known
    // only at run time, over the accumulators copied into arrays, so that a compiler emits the
    // stores once rather than once per column. lavapipe turns every store with a per-invocation
    // index into a loop over its SIMD lanes; the 256 stores of the written-out form (8 columns x
    // 8 channels x y and yRelu, twice with WIDE) were about two thirds of the kernel's compile time
    // (src/kernels/conv2d.ts, storeLoop). SwiftShader compiles either form fast but keeps the
    // arrays in memory.
    let colsA = array<vec4<f32>, 8>(a0, a1, a2, a3, a4, a5, a6, a7);
    let colsB = array<vec4<f32>, 8>(b0, b1, b2, b3, b4, b5, b6, b7);
    let columns = min(COLS, params.outWidth - ox0);
    for (var j = 0u; j < columns; j++) {
      store(colsA[j], sca, sha, oa, rowA, ox0, j);
      store(colsB[j], scb, shb, ob, rowB, ox0, j);
    }
  } else {
    store(a0, sca, sha, oa, rowA, ox0, 0u); store(b0, scb, shb, ob, rowB, ox0, 0u);
    store(a1, sca, sha, oa, rowA, ox0, 1u); store(b1, scb, shb, ob, rowB, ox0, 1u);
    store(a2, sca, sha, oa, rowA, ox0, 2u); store(b2, scb, shb, ob, rowB, ox0, 2u);
    store(a3, sca, sha, oa, rowA, ox0, 3u); store(b3, scb, shb, ob, rowB, ox0, 3u);
    store(a4, sca, sha, oa, rowA, ox0, 4u); store(b4, scb, shb, ob, rowB, ox0, 4u);
    store(a5, sca, sha, oa, rowA, ox0, 5u); store(b5, scb, shb, ob, rowB, ox0, 5u);
    store(a6, sca, sha, oa, rowA, ox0, 6u); store(b6, scb, shb, ob, rowB, ox0, 6u);
    store(a7, sca, sha, oa, rowA, ox0, 7u); store(b7, scb, shb, ob, rowB, ox0, 7u);
  }
}
