// conv2d.wgsl: 2D convolution with a per-output-channel affine epilogue and an optional ReLU,
//
//   y[n,o,oy,ox] = act( scale[o] * sum_{ci,ky,kx} x[n, ci, oy*S-P+ky, ox*S-P+kx] * W[o,ci,ky,kx] + shift[o] )
//
// where taps that fall outside the input read as 0 (zero padding) and act is max(., 0) when
// params.relu is set.
// BatchNorm folds into (scale, shift); a plain conv with bias uses scale = 1, shift = bias.
//
// The module is this file joined with shared pieces (src/kernels/conv2d.ts composes it):
//   - Params, declared (each member explained) and packed in src/kernels/conv2d.ts;
//   - parts/conv2d-io.wgsl: bindings 0 params, 1 x (NCHW input), 3 scale, 4 shift, 5 y (NCHW output);
//   - parts/conv2d-weights-f32.wgsl or, for f16 weights ('shader-f16'), parts/conv2d-weights-f16.wgsl:
//     binding 2, the packed weights (packConv2dWeights), read through weight(i) as vec4<f32>;
//   - parts/conv2d-direct-block.wgsl: the register block (Block) and one tap's loads and FMAs
//     (inputs, accumulate), shared with conv2d-subgroup.wgsl;
//   - parts/conv2d-epilogue.wgsl: the affine epilogue, ReLU and stores (step 6).
//
// Override constants: KSIZE (K), STRIDE (S), COLS (output columns per thread: 7 or 8), WG (threads
// per workgroup), ONE_LOOP (step 5), WIDE (16 output channels per thread instead of 8),
// PADDED_INPUT (parts/conv2d-direct-block.wgsl: x holds the input zero-padded, no tap is checked); K and S are
// constants of the tap loop's stepping and addressing. The padding P,
// the ReLU flag and all sizes are uniforms (a runtime K was 10-40% slower on lavapipe; a ReLU
// override would double the pipelines for no measurable gain).
//
// Register blocking: a thread owns 8 output channels x COLS neighbouring output columns of one
// output row: 16 vec4 accumulators (struct Block) a0..a7 (channels 8g..8g+3, columns ox0..ox0+7)
// and b0..b7 (channels 8g+4..8g+7). Per tap it loads 2 vec4 weights (packed groups v = 2g and 2g+1) and COLS
// input values, and does 16 vec4 FMAs. No workgroup memory and no barriers. On the CPU adapters
// (lavapipe, SwiftShader) a storage load whose index varies along a loop costs about the same
// whatever its width or uniformity (it is done lane by lane), so the kernel does as many FMAs per
// load as the registers allow; accumulators are named struct members rather than an array because
// SwiftShader does not unroll loops and keeps a private array indexed in a loop in memory.
// With WIDE a thread owns 16 channels (16g .. 16g+15): a second Block for channels 16g+8 .. 16g+15
// takes the same COLS inputs with 2 more vec4 weights (packed groups 4g .. 4g+3), 32 vec4 FMAs per
// tap. conv2dDispatch picks it, with ONE_LOOP, on lavapipe and SwiftShader (directForm in
// src/kernels/conv2d.ts: ResNet18's convolutions 1.1-1.5x faster on lavapipe; in nested loops,
// which lavapipe unrolls, 16 channels ran 1.5-1.8x slower than 8). The sums and their order do
// not change: every output gets the same bits in every form.
//
// Dispatch grid (see conv2dDispatch): grid1d(N * G * OH * colBlocks, WG) with G = ceil(Cout/8)
// (WIDE: ceil(Cout/16)) and
// colBlocks = ceil(OW/COLS): workgroups (gx, gy, 1); the flat thread index is
// t = (wid.x + wid.y * gx) * WG + local index, so no grid dimension exceeds 65535. Consecutive
// threads take consecutive column blocks, then rows, then channel groups, then images: the threads
// of a workgroup mostly share their weights (a broadcast on GPUs) and read neighbouring inputs.
//
// Invariants:
//   - threads with t >= N * G * OH * colBlocks return before any load;
//   - columns ox0+j >= OW and channels >= Cout are computed (from clamped, in-bounds reads and zero
//     weights) but never written; every output element is written by exactly one thread;
//   - every read of x is clamped into its row and masked to 0 when the tap lies in the padding
//     (with PADDED_INPUT the padding is in x, and only the idle columns past OW, never stored, may
//     read past their row);
//   - with COLS = 7 the eighth column (a7, b7) is never loaded, accumulated or stored;
//   - without WIDE the second Block is neither accumulated nor stored.

override KSIZE: u32 = 3u;
override STRIDE: u32 = 1u;
override COLS: u32 = 8u;
override WG: u32 = 64u;
/** One loop over all Cin*K*K taps (true) or nested loops over ci, ky and kx (false); see step 5. */
override ONE_LOOP: bool = false;
/** 16 output channels per thread (two Blocks) instead of 8. */
override WIDE: bool = false;

/** Input row iy clamped into the plane for the read (with PADDED_INPUT every row is inside). */
fn inputRow(iy: i32, h: u32) -> u32 {
  if (PADDED_INPUT) { return u32(iy); }
  return u32(clamp(iy, 0, i32(h) - 1));
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let cin = params.inChannels;
  let h = params.inHeight;
  let wdt = params.inWidth;
  let kk = KSIZE * KSIZE;

  // 1. Flat thread index; threads past the end have nothing to do.
  let t = (wid.x + wid.y * params.groupsX) * WG + lid;
  if (t >= params.threads) { return; }

  // 2. Decompose t = ((n * G + g) * OH + oy) * colBlocks + b: image n, channel group g (output
  //    channels 8g .. 8g+7; WIDE: 16g .. 16g+15), output row oy, first output column ox0 = b * COLS.
  let b = t % params.colBlocks;
  let rest = t / params.colBlocks;
  let oy = rest % params.outHeight;
  let ng = rest / params.outHeight;
  let g = ng % params.groups;
  let n = ng / params.groups;
  let ox0 = b * COLS;

  // 3. Top-left input tap of the block in signed input coordinates (negative or past the end =
  //    padding). Output column ox0+j at tap (ky, kx) reads input (iy0 + ky, ix0 + j*S + kx).
  let iy0 = i32(oy * STRIDE) - params.padding;
  let ix0 = i32(ox0 * STRIDE) - params.padding;

  // 4. Weight offsets (in vec4) of the thread's packed groups at input channel 0: v = 2g and 2g+1
  //    (WIDE: 4g .. 4g+3). A group past the last (Cout <= 8g+4, or in WIDE 16g+4, +8, +12) is read
  //    from the last group instead (those channels are never stored).
  let groupsPerThread = select(2u, 4u, WIDE);
  let last = params.vec4Groups - 1u;
  let w0 = (groupsPerThread * g) * cin * kk;
  let w1 = min(groupsPerThread * g + 1u, last) * cin * kk;
  let w2 = min(groupsPerThread * g + 2u, last) * cin * kk;
  let w3 = min(groupsPerThread * g + 3u, last) * cin * kk;

  // 5. Reduce over input channels, kernel rows and kernel columns, in that order. Tap
  //    r = (ci * K + ky) * K + kx: the packed weights of a group hold its taps in this order.
  //    Two loop forms, the same sums: nested loops (K and S are constants, so lavapipe and GPU
  //    compilers unroll them); and (ONE_LOOP) one loop over the Cin*K*K taps with (ky, kx) and the
  //    input plane stepped by selects. SwiftShader unrolls nothing, and each entry into an inner
  //    loop cost it about as much as a tap (nested loops ran its 1x1 convolutions 3-5x and its
  //    stride-2 3x3 ones 1.2-1.6x slower). On lavapipe one loop ran the 3x3 stride-1 ones 1.1-1.2x
  //    slower with 8 channels, but with WIDE it is the faster form (unrolled, 16 channels ran
  //    1.5-1.8x slower); directForm in src/kernels/conv2d.ts picks.
  var acc: Block;    // channels 8g .. 8g+7 (WIDE: 16g .. 16g+7)
  var wide: Block;   // WIDE only: channels 16g+8 .. 16g+15
  var xPlane = n * cin * h * wdt;   // offset of x[n, ci, 0, 0]
  if (ONE_LOOP) {
    var ky = 0u;
    var kx = 0u;
    for (var r = 0u; r < cin * kk; r++) {
      // Input row iy, clamped for the read and flagged when it is padding.
      let iy = iy0 + i32(ky);
      let row = xPlane + inputRow(iy, h) * wdt;
      let x = inputs(row, ix0 + i32(kx), iy >= 0 && iy < i32(h));
      acc = accumulate(acc, weight(w0 + r), weight(w1 + r), x);
      if (WIDE) { wide = accumulate(wide, weight(w2 + r), weight(w3 + r), x); }
      // Next tap: the next column; past the last, the next row; past the last row, the next
      // input channel's plane.
      let rowEnd = kx + 1u == KSIZE;
      let planeEnd = rowEnd && ky + 1u == KSIZE;
      kx = select(kx + 1u, 0u, rowEnd);
      ky = select(select(ky, ky + 1u, rowEnd), 0u, planeEnd);
      xPlane = select(xPlane, xPlane + h * wdt, planeEnd);
    }
  } else {
    var r = 0u;
    for (var ci = 0u; ci < cin; ci++) {
      for (var ky = 0u; ky < KSIZE; ky++) {
        let iy = iy0 + i32(ky);
        let rowOk = iy >= 0 && iy < i32(h);
        let row = xPlane + inputRow(iy, h) * wdt;
        for (var kx = 0u; kx < KSIZE; kx++) {
          let x = inputs(row, ix0 + i32(kx), rowOk);
          acc = accumulate(acc, weight(w0 + r), weight(w1 + r), x);
          if (WIDE) { wide = accumulate(wide, weight(w2 + r), weight(w3 + r), x); }
          r++;
        }
      }
      xPlane += h * wdt;
    }
  }

  // 6. Epilogue (parts/conv2d-epilogue.wgsl, 8 channels at a time: its group e holds channels
  //    8e .. 8e+7): per-channel affine (folded BatchNorm or bias) and optional ReLU; the in-range
  //    part of the block is stored.
  storeBlocks(n, g, oy, ox0, acc, wide, WIDE);
}
