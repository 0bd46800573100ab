// conv2d-stem-subgroup.wgsl: the 7x7 stride-2 convolution (ResNet's stem) as conv2d-subgroup.wgsl
// computes it (16 output channels x COLS columns per thread, weights shuffled across the subgroup,
// the same sums in the same order: the same bits), with each kernel row's inputs loaded once for
// its 7 taps.
//
// Why: conv2d-subgroup.wgsl loads COLS inputs per tap, 56 per kernel row of the stem; on lavapipe
// each is a loop over the SIMD lanes. The 7 taps of a row at stride 2 read only 21 input columns,
// ix0 + 0 .. ix0 + 20: tap kx of output column j reads ix0 + kx + 2j, so the even taps read the
// even columns e_i = ix0 + 2i and the odd taps the odd ones o_i = ix0 + 1 + 2i, each tap a window of
// 8 shifted by one from the tap two before. Written out, so that the windows are registers: a
// loop over the taps would index them at run time (and on lavapipe a branch on the tap, even a
// uniform one, runs both sides under a mask: a sliding window chosen that way ran 1.1-1.3x slower).
//
// Composition (src/kernels/conv2d.ts): Params (as conv2d-rows.wgsl's), parts/conv2d-io.wgsl,
// parts/conv2d-weights-f32.wgsl, parts/conv2d-direct-block.wgsl, parts/conv2d-subgroup-grid.wgsl,
// this file, parts/conv2d-epilogue.wgsl.
//
// Grid (parts/conv2d-subgroup-grid.wgsl), as conv2d-subgroup.wgsl: one workgroup per (image n,
// channel group g of 16, tile of WG pixel blocks), WG the subgroup size; thread lid takes pixel
// block j = tile * WG + lid.
//
// Invariants:
//   - WG is the subgroup size, which does not vary (src/kernels/conv2d.ts), so a workgroup is one
//     subgroup and every lane shares the channel group g and so the weights;
//   - no thread leaves before the row loop (threads past the last block compute the last again
//     and store nothing), so every lane a shuffle reads is active; the loop's bounds are uniform;
//   - per row, lane l loads tap min(l, 6)'s weights (lanes 7 and up load tap 6 again, unread),
//     so subgroups of at least 7 lanes (src/kernels/conv2d.ts: lavapipe's 8);
//   - the taps are summed in conv2d.wgsl's order (ci, ky, kx), acc before wide, with the same
//     inputs: every output gets conv2d.wgsl's bits;
//   - every output element is written by exactly one thread.
//
// Override constants: COLS (7 or 8), WG (the subgroup size), STORE_LOOP (the epilogue's).
// KSIZE = 7 and STRIDE = 2 are fixed here; they are declared for parts/conv2d-direct-block.wgsl.

enable subgroups;

const KSIZE: u32 = 7u;
override STRIDE: u32 = 2u;
override COLS: u32 = 8u;
override WG: u32 = 8u;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32,
        @builtin(subgroup_invocation_id) lane: u32) {
  let cin = params.inChannels;
  let h = params.inHeight;
  let wdt = params.inWidth;
  let kk = KSIZE * KSIZE;

  // 1. The workgroup (past the end, the whole workgroup leaves) and the thread's pixel block
  //    (parts/conv2d-subgroup-grid.wgsl: the last one again past the end, computed, not stored).
  let w = wid.x + wid.y * params.groupsX;
  if (w >= params.workgroups) { return; }
  let pb = pixelBlock(w, lid);
  let n = pb.n;
  let g = pb.g;
  let oy = pb.oy;
  let ox0 = pb.ox0;
  let iy0 = i32(oy * 2u) - params.padding;
  let ix0 = i32(ox0 * 2u) - params.padding;

  // 2. Weight offsets of the packed groups 4g .. 4g+3, as conv2d-subgroup.wgsl; this lane's tap of
  //    each row.
  let last = params.vec4Groups - 1u;
  let mine = min(lane, KSIZE - 1u);
  let w0 = (4u * g) * cin * kk + mine;
  let w1 = min(4u * g + 1u, last) * cin * kk + mine;
  let w2 = min(4u * g + 2u, last) * cin * kk + mine;
  let w3 = min(4u * g + 3u, last) * cin * kk + mine;

  // 3. The kernel rows (ci, ky) in order: the row's weights (lane l: tap l), its 21 inputs, then
  //    its 7 taps, each taking its weights from its lane.
  var acc: Block;    // channels 16g .. 16g+7
  var wide: Block;   // channels 16g+8 .. 16g+15
  var xPlane = n * cin * h * wdt;
  var ky = 0u;
  for (var r = 0u; r < cin * KSIZE; r++) {
    let tapBase = r * KSIZE;
    let l0 = weight(w0 + tapBase); let l1 = weight(w1 + tapBase); let l2 = weight(w2 + tapBase); let l3 = weight(w3 + tapBase);
    let iy = iy0 + i32(ky);
    let rowOk = iy >= 0 && iy < i32(h);
    let row = xPlane + u32(clamp(iy, 0, i32(h) - 1)) * wdt;
    // Even columns e_i = ix0 + 2i, odd o_i = ix0 + 1 + 2i (tap() clamps into the row, 0 in the
    // padding), all loaded before the arithmetic.
    let e0 = tap(row, ix0, rowOk); let e1 = tap(row, ix0 + 2, rowOk); let e2 = tap(row, ix0 + 4, rowOk);
    let e3 = tap(row, ix0 + 6, rowOk); let e4 = tap(row, ix0 + 8, rowOk); let e5 = tap(row, ix0 + 10, rowOk);
    let e6 = tap(row, ix0 + 12, rowOk); let e7 = tap(row, ix0 + 14, rowOk); let e8 = tap(row, ix0 + 16, rowOk);
    let e9 = tap(row, ix0 + 18, rowOk); let e10 = tap(row, ix0 + 20, rowOk);
    let o0 = tap(row, ix0 + 1, rowOk); let o1 = tap(row, ix0 + 3, rowOk); let o2 = tap(row, ix0 + 5, rowOk);
    let o3 = tap(row, ix0 + 7, rowOk); let o4 = tap(row, ix0 + 9, rowOk); let o5 = tap(row, ix0 + 11, rowOk);
    let o6 = tap(row, ix0 + 13, rowOk); let o7 = tap(row, ix0 + 15, rowOk); let o8 = tap(row, ix0 + 17, rowOk);
    let o9 = tap(row, ix0 + 19, rowOk);
    // Column 7's input only where a thread has 8 columns (conv2d-direct-block's Inputs: v7 = 0 otherwise).
    let c8 = COLS == 8u;
    let z = vec4<f32>(0.0);
    let x0 = Inputs(e0, e1, e2, e3, e4, e5, e6, select(z, e7, c8));
    let x1 = Inputs(o0, o1, o2, o3, o4, o5, o6, select(z, o7, c8));
    let x2 = Inputs(e1, e2, e3, e4, e5, e6, e7, select(z, e8, c8));
    let x3 = Inputs(o1, o2, o3, o4, o5, o6, o7, select(z, o8, c8));
    let x4 = Inputs(e2, e3, e4, e5, e6, e7, e8, select(z, e9, c8));
    let x5 = Inputs(o2, o3, o4, o5, o6, o7, o8, select(z, o9, c8));
    let x6 = Inputs(e3, e4, e5, e6, e7, e8, e9, select(z, e10, c8));
    acc = accumulate(acc, subgroupShuffle(l0, 0u), subgroupShuffle(l1, 0u), x0);
    wide = accumulate(wide, subgroupShuffle(l2, 0u), subgroupShuffle(l3, 0u), x0);
    acc = accumulate(acc, subgroupShuffle(l0, 1u), subgroupShuffle(l1, 1u), x1);
    wide = accumulate(wide, subgroupShuffle(l2, 1u), subgroupShuffle(l3, 1u), x1);
    acc = accumulate(acc, subgroupShuffle(l0, 2u), subgroupShuffle(l1, 2u), x2);
    wide = accumulate(wide, subgroupShuffle(l2, 2u), subgroupShuffle(l3, 2u), x2);
    acc = accumulate(acc, subgroupShuffle(l0, 3u), subgroupShuffle(l1, 3u), x3);
    wide = accumulate(wide, subgroupShuffle(l2, 3u), subgroupShuffle(l3, 3u), x3);
    acc = accumulate(acc, subgroupShuffle(l0, 4u), subgroupShuffle(l1, 4u), x4);
    wide = accumulate(wide, subgroupShuffle(l2, 4u), subgroupShuffle(l3, 4u), x4);
    acc = accumulate(acc, subgroupShuffle(l0, 5u), subgroupShuffle(l1, 5u), x5);
    wide = accumulate(wide, subgroupShuffle(l2, 5u), subgroupShuffle(l3, 5u), x5);
    acc = accumulate(acc, subgroupShuffle(l0, 6u), subgroupShuffle(l1, 6u), x6);
    wide = accumulate(wide, subgroupShuffle(l2, 6u), subgroupShuffle(l3, 6u), x6);
    // Next row; past the last, the next input channel's plane.
    let planeEnd = ky + 1u == KSIZE;
    ky = select(ky + 1u, 0u, planeEnd);
    xPlane = select(xPlane, xPlane + h * wdt, planeEnd);
  }

  // 4. Epilogue (parts/conv2d-epilogue.wgsl, 8 channels at a time) for the blocks that exist.
  if (!pb.live) { return; }
  storeBlocks(n, g, oy, ox0, acc, wide, true);
}
