// conv2d-subgroup.wgsl: conv2d.wgsl's CPU form (one loop over the taps, 16 output channels per
// thread) with the weights loaded once per subgroup and handed round by subgroupShuffle. The same
// convolution, the same sums in the same order: every output gets the bits conv2d.wgsl gives it.
//
// Why: on lavapipe (Mesa 25) every storage load whose index is not a compile-time constant runs
// as a loop over the SIMD lanes, with a bounds check and a branch per lane, even where all lanes
// read the same address; a shuffle is one vector permute. In conv2d.wgsl the lanes of a subgroup
// take neighbouring column blocks of one output row and so read the same 4 vec4 weights per tap:
// 4 lane-by-lane loads per tap. Here lane l of a subgroup of S lanes loads the weights of tap
// r0 + l, and for each of the S taps r0 .. r0+S-1 every lane takes that tap's weights from the lane
// that loaded them: 4 loads per S taps, and 4 shuffles per tap. With the weights not loaded at all
// (a probe) the stride-2 and 7x7 convolutions of ResNet18 ran 1.6-1.8x faster on lavapipe; with
// shuffles, see src/kernels/conv2d.ts (subgroupWeightsFor).
//
// Composition (src/kernels/conv2d.ts): Params (as conv2d-rows.wgsl's: tiles, workgroups, groupsX),
// parts/conv2d-io.wgsl, parts/conv2d-weights-f32.wgsl, parts/conv2d-direct-block.wgsl,
// parts/conv2d-subgroup-grid.wgsl, this file, parts/conv2d-epilogue.wgsl.
//
// Grid (parts/conv2d-subgroup-grid.wgsl): one workgroup per (image n, channel group g, tile of WG
// pixel blocks), as conv2d-rows.wgsl: workgroup w = (n * G + g) * tiles + tile, its thread lid
// taking pixel block j = tile * WG + lid
// (output row oy = j / colBlocks, columns ox0 = (j % colBlocks) * COLS ..). So g, and with it every
// weight a thread reads, is the same across the workgroup and hence across each of its subgroups:
// a shuffle never hands a lane weights of another channel group.
//
// Invariants:
//   - no thread leaves before the tap loop: threads past the last block (j >= OH * colBlocks)
//     compute the last block again, so that every lane a shuffle reads from is active, and store
//     nothing; whole workgroups past the end (w >= workgroups) leave at once, uniformly;
//   - WG is a multiple of the subgroup size (src/kernels/conv2d.ts), so subgroups are full;
//   - the tap loop's bounds are uniform (Cin, K, the subgroup size), as subgroupShuffle needs;
//   - a lane whose tap r0 + l is past the last (the last chunk of taps) loads the last tap's
//     weights, which no lane reads;
//   - every output element is written by exactly one thread, as in conv2d.wgsl.
//
// Override constants: KSIZE, STRIDE, COLS, WG, as conv2d.wgsl (the epilogue's STORE_LOOP too).

enable subgroups;

override KSIZE: u32 = 3u;
override STRIDE: u32 = 1u;
override COLS: u32 = 8u;
override WG: u32 = 64u;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32,
        @builtin(subgroup_invocation_id) lane: u32, @builtin(subgroup_size) subgroupSize: u32) {
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
  let iy0 = i32(oy * STRIDE) - params.padding;
  let ix0 = i32(ox0 * STRIDE) - params.padding;

  // 2. Weight offsets of the packed groups 4g .. 4g+3 (16 channels, as conv2d.wgsl's WIDE), a group
  //    past the last read from the last (its channels are never stored).
  let last = params.vec4Groups - 1u;
  let w0 = (4u * g) * cin * kk;
  let w1 = min(4u * g + 1u, last) * cin * kk;
  let w2 = min(4u * g + 2u, last) * cin * kk;
  let w3 = min(4u * g + 3u, last) * cin * kk;

  // 3. The taps r = (ci * K + ky) * K + kx in order, in chunks of one subgroup's width: lane l loads
  //    tap r0 + l's weights, then each tap of the chunk takes its weights from its lane. (ky, kx)
  //    and the input plane step as in conv2d.wgsl's one loop.
  var acc: Block;    // channels 16g .. 16g+7
  var wide: Block;   // channels 16g+8 .. 16g+15
  var xPlane = n * cin * h * wdt;
  var ky = 0u;
  var kx = 0u;
  let taps = cin * kk;
  for (var r0 = 0u; r0 < taps; r0 += subgroupSize) {
    let mine = min(r0 + lane, taps - 1u);
    let l0 = weight(w0 + mine); let l1 = weight(w1 + mine); let l2 = weight(w2 + mine); let l3 = weight(w3 + mine);
    let chunk = min(subgroupSize, taps - r0);
    for (var k = 0u; k < chunk; k++) {
      let iy = iy0 + i32(ky);
      let row = xPlane + u32(clamp(iy, 0, i32(h) - 1)) * wdt;
      let x = inputs(row, ix0 + i32(kx), iy >= 0 && iy < i32(h));
      acc = accumulate(acc, subgroupShuffle(l0, k), subgroupShuffle(l1, k), x);
      wide = accumulate(wide, subgroupShuffle(l2, k), subgroupShuffle(l3, k), x);
      let rowEnd = kx + 1u == KSIZE;
      let planeEnd = rowEnd && ky + 1u == KSIZE;
      kx = select(kx + 1u, 0u, rowEnd);
      ky = select(select(ky, ky + 1u, rowEnd), 0u, planeEnd);
      xPlane = select(xPlane, xPlane + h * wdt, planeEnd);
    }
  }

  // 4. Epilogue (parts/conv2d-epilogue.wgsl, 8 channels at a time) for the blocks that exist.
  if (!pb.live) { return; }
  storeBlocks(n, g, oy, ox0, acc, wide, true);
}
