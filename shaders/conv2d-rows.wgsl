// conv2d-rows.wgsl: the 3x3, stride-1 convolutions of conv2d.wgsl (same bindings, weight layout,
// epilogue and result), blocked for the CPU adapters' gather-bound loads:
//
//   y[n,o,oy,ox] = act( scale[o] * sum_{ci,ky,kx} x[n, ci, oy-P+ky, ox-P+kx] * W[o,ci,ky,kx] + shift[o] )
//
// Taps outside the input read as 0 (zero padding); act is max(., 0) when params.relu is set.
// conv2dDispatch sends only K = 3, S = 1 here (13 of ResNet18's 20 convolutions, about 70% of its
// FLOPs); other shapes run conv2d.wgsl.
//
// The module is this file joined with the pieces conv2d.wgsl uses (src/kernels/conv2d.ts composes
// it): its own Params (declared, each member explained, and packed in src/kernels/conv2d.ts),
// parts/conv2d-io.wgsl and parts/conv2d-weights-f32.wgsl (the same bindings as conv2d.wgsl: 1 x,
// 2 the packed weights read through weight(i), 3 scale, 4 shift, 5 y), and
// parts/conv2d-epilogue.wgsl (step 5).
//
// Override constants: COLS (7 or 8 output columns per thread), WG (threads per workgroup;
// conv2dDispatch sizes it to the layer's pixel blocks, at most 64).
//
// What differs from conv2d.wgsl, and why:
//   1. Row reuse. Per input channel and kernel row a thread loads the 10 inputs its 8 columns need
//      once and runs the three kernel columns on them, instead of loading 8 inputs per tap (24 per
//      row). Every storage load with a per-invocation index is a gather on SwiftShader and lavapipe
//      (done lane by lane), so loads, not FMAs, bound the kernel: 34 gathered floats (2 x 3 weight
//      vec4 + 10 inputs) instead of 48 per 48 vec4 FMAs. The three kernel columns are written out
//      because SwiftShader does not unroll loops and the reuse needs the row in named registers.
//      (The same reuse at stride 2, 17 inputs per row, made SwiftShader's compiler run for minutes
//      and take 8 GiB, so stride 2 stays with conv2d.wgsl.)
//   2. One channel group per workgroup. The workgroup index alone picks the image and the 8 output
//      channels, so the weight index is workgroup-uniform; the threads of a workgroup take
//      consecutive pixel blocks (output row, 8-column block) of that channel group. conv2dDispatch
//      makes WG no larger than a layer's pixel block count rounded up to 4 (SwiftShader's SIMD
//      width), so the small late layers (7x7: 7 blocks) leave few idle lanes.
//
// Dispatch grid (conv2dDispatch): workgroups = N * G * tiles with G = ceil(Cout/8) channel groups,
// tiles = ceil(OH * colBlocks / WG), colBlocks = ceil(OW / COLS), as (gx, gy, 1) with no dimension over
// 65535; workgroup index wg = wid.x + wid.y * gx = (n * G + g) * tiles + tile; thread pixel block
// p = tile * WG + local index = oy * colBlocks + b; first output column ox0 = b * COLS.
//
// Invariants:
//   - workgroups with wg >= N * G * tiles and threads with p >= OH * colBlocks return before any load;
//   - every read of x is clamped into its row and masked to 0 when the tap lies in the padding;
//   - columns ox0+j >= OW and channels >= Cout are computed from in-bounds reads but never stored;
//     every output element is written by exactly one thread;
//   - with COLS = 7 the eighth column (a7, b7) and the input only it needs (r9) are never loaded.

override COLS: u32 = 8u;
override WG: u32 = 64u;

/** x[row + ix], or 0 when the row or the column ix is in the padding. */
fn ld(row: u32, ix: i32, rowOk: bool) -> f32 {
  let wd = i32(params.inWidth);
  return select(0.0, x[row + u32(clamp(ix, 0, wd - 1))], rowOk && ix >= 0 && ix < wd);
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let cin = params.inChannels;
  let h = params.inHeight;
  let wdt = params.inWidth;
  let kk = 9u;

  // 1. Workgroup -> (image n, channel group g, tile); thread -> pixel block p. Both exits are taken
  //    before any load.
  let wg = wid.x + wid.y * params.groupsX;
  if (wg >= params.workgroups) { return; }
  let tile = wg % params.tiles;
  let ng = wg / params.tiles;
  let g = ng % params.groups;
  let n = ng / params.groups;
  let p = tile * WG + lid;
  if (p >= params.outHeight * params.colBlocks) { return; }
  let b = p % params.colBlocks;
  let oy = p / params.colBlocks;
  let ox0 = b * COLS;

  // 2. Top-left input tap of the block (signed: negative or past the end = padding).
  let iy0 = i32(oy) - params.padding;
  let ix0 = i32(ox0) - params.padding;

  // 3. Weight offsets (vec4) of packed groups 2g and 2g+1 at input channel 0; a missing second
  //    group (Cout <= 8g+4) reads the last one (never stored). Workgroup-uniform.
  var w0 = (2u * g) * cin * kk;
  var w1 = min(2u * g + 1u, params.vec4Groups - 1u) * cin * kk;

  var a0 = vec4<f32>(0.0); var a1 = vec4<f32>(0.0); var a2 = vec4<f32>(0.0); var a3 = vec4<f32>(0.0);
  var a4 = vec4<f32>(0.0); var a5 = vec4<f32>(0.0); var a6 = vec4<f32>(0.0); var a7 = vec4<f32>(0.0);
  var b0 = vec4<f32>(0.0); var b1 = vec4<f32>(0.0); var b2 = vec4<f32>(0.0); var b3 = vec4<f32>(0.0);
  var b4 = vec4<f32>(0.0); var b5 = vec4<f32>(0.0); var b6 = vec4<f32>(0.0); var b7 = vec4<f32>(0.0);
  var xPlane = n * cin * h * wdt;   // offset of x[n, ci, 0, 0]
  for (var ci = 0u; ci < cin; ci++) {
    for (var ky = 0u; ky < 3u; ky++) {
      let iy = iy0 + i32(ky);
      let rowOk = iy >= 0 && iy < i32(h);
      let row = xPlane + u32(clamp(iy, 0, i32(h) - 1)) * wdt;
      {
        // 4. Inputs ix0 .. ix0+9 serve all three kernel columns (column j, tap kx reads r[j + kx]).
        let k = ky * 3u;
        let wa0 = weight(w0 + k); let wa1 = weight(w0 + k + 1u); let wa2 = weight(w0 + k + 2u);
        let wb0 = weight(w1 + k); let wb1 = weight(w1 + k + 1u); let wb2 = weight(w1 + k + 2u);
        let r0 = ld(row, ix0 + 0, rowOk);
        let r1 = ld(row, ix0 + 1, rowOk);
        let r2 = ld(row, ix0 + 2, rowOk);
        let r3 = ld(row, ix0 + 3, rowOk);
        let r4 = ld(row, ix0 + 4, rowOk);
        let r5 = ld(row, ix0 + 5, rowOk);
        let r6 = ld(row, ix0 + 6, rowOk);
        let r7 = ld(row, ix0 + 7, rowOk);
        let r8 = ld(row, ix0 + 8, rowOk);
        var r9 = 0.0; if (COLS == 8u) { r9 = ld(row, ix0 + 9, rowOk); }
        a0 = fma(vec4<f32>(r0), wa0, a0); b0 = fma(vec4<f32>(r0), wb0, b0);
        a1 = fma(vec4<f32>(r1), wa0, a1); b1 = fma(vec4<f32>(r1), wb0, b1);
        a2 = fma(vec4<f32>(r2), wa0, a2); b2 = fma(vec4<f32>(r2), wb0, b2);
        a3 = fma(vec4<f32>(r3), wa0, a3); b3 = fma(vec4<f32>(r3), wb0, b3);
        a4 = fma(vec4<f32>(r4), wa0, a4); b4 = fma(vec4<f32>(r4), wb0, b4);
        a5 = fma(vec4<f32>(r5), wa0, a5); b5 = fma(vec4<f32>(r5), wb0, b5);
        a6 = fma(vec4<f32>(r6), wa0, a6); b6 = fma(vec4<f32>(r6), wb0, b6);
        if (COLS == 8u) { a7 = fma(vec4<f32>(r7), wa0, a7); b7 = fma(vec4<f32>(r7), wb0, b7); }
        a0 = fma(vec4<f32>(r1), wa1, a0); b0 = fma(vec4<f32>(r1), wb1, b0);
        a1 = fma(vec4<f32>(r2), wa1, a1); b1 = fma(vec4<f32>(r2), wb1, b1);
        a2 = fma(vec4<f32>(r3), wa1, a2); b2 = fma(vec4<f32>(r3), wb1, b2);
        a3 = fma(vec4<f32>(r4), wa1, a3); b3 = fma(vec4<f32>(r4), wb1, b3);
        a4 = fma(vec4<f32>(r5), wa1, a4); b4 = fma(vec4<f32>(r5), wb1, b4);
        a5 = fma(vec4<f32>(r6), wa1, a5); b5 = fma(vec4<f32>(r6), wb1, b5);
        a6 = fma(vec4<f32>(r7), wa1, a6); b6 = fma(vec4<f32>(r7), wb1, b6);
        if (COLS == 8u) { a7 = fma(vec4<f32>(r8), wa1, a7); b7 = fma(vec4<f32>(r8), wb1, b7); }
        a0 = fma(vec4<f32>(r2), wa2, a0); b0 = fma(vec4<f32>(r2), wb2, b0);
        a1 = fma(vec4<f32>(r3), wa2, a1); b1 = fma(vec4<f32>(r3), wb2, b1);
        a2 = fma(vec4<f32>(r4), wa2, a2); b2 = fma(vec4<f32>(r4), wb2, b2);
        a3 = fma(vec4<f32>(r5), wa2, a3); b3 = fma(vec4<f32>(r5), wb2, b3);
        a4 = fma(vec4<f32>(r6), wa2, a4); b4 = fma(vec4<f32>(r6), wb2, b4);
        a5 = fma(vec4<f32>(r7), wa2, a5); b5 = fma(vec4<f32>(r7), wb2, b5);
        a6 = fma(vec4<f32>(r8), wa2, a6); b6 = fma(vec4<f32>(r8), wb2, b6);
        if (COLS == 8u) { a7 = fma(vec4<f32>(r9), wa2, a7); b7 = fma(vec4<f32>(r9), wb2, b7); }
      }
    }
    xPlane += h * wdt;
    w0 += kk;
    w1 += kk;
  }

  // 5. Epilogue (parts/conv2d-epilogue.wgsl, as conv2d.wgsl): per-channel affine and optional
  //    ReLU, in-range part stored.
  epilogue(n, g, oy, ox0, a0, a1, a2, a3, a4, a5, a6, a7, b0, b1, b2, b3, b4, b5, b6, b7);
}
