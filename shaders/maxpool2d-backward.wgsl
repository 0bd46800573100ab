// maxpool2d-backward.wgsl: second pass of the max-pooling backward (kernel K, stride S, padding P,
// floor mode): the gradient with respect to the input, gathered through the window picks that
// maxpool2d-argmax.wgsl wrote (PyTorch's tie rule, the optional ReLU mask already folded in as
// NONE picks). Without atomics:
//
//   dx[n,c,iy,ix] = sum over windows (oy, ox) that contain (iy, ix), oy ascending then ox ascending,
//                   of dy[n,c,oy,ox] where argmax[n,c,oy,ox] == iy * W + ix
//
// Each thread owns a BLOCK x BLOCK block of input elements, rows r0 .. r0+BLOCK-1 with
// r0 = by * BLOCK - offset (columns alike); with BLOCK == S and offset = P mod S a block's
// elements share their windows (3x3 s2 p1: 2x2 windows for 4 elements). The thread reads the pick
// and dy of every window containing any element of its block once and adds dy to the element it
// picked; a non-matching window adds +0.0, which leaves the sum bit-identical (it starts at +0.0,
// so it is never -0.0), so each element's sum is the one-pass kernel's, same values, same order.
//
// Bindings (group 0):
//   0 params : uniform Params, declared (each member explained) and packed in src/kernels/maxpool2d-backward.ts,
//              which emits the struct before this file
//   1 argmax : storage read,  array<u32>   [N, C, OH, OW], from maxpool2d-argmax.wgsl
//   2 dy     : storage read,  array<f32>   NCHW [N, C, OH, OW]
//   3 dx     : storage write, array<f32>   NCHW [N, C, H, W]; may not alias dy
// Override constants: KSIZE (K), STRIDE (S), BLOCK (1 or 2), NWIN (windows per block side: the
//   most of any block, computed in maxpool2d-backward.ts), WG (threads per workgroup).
// Dispatch: grid1d(N*C*blocksY*blocksX, WG); flat index global_id.x + global_id.y * gx * WG is
//   (nc * blocksY + by) * blocksX + bx. Threads past `blocks` return without writing.
// Invariants: the blocks tile [-offset, blocksY*BLOCK - offset) x [-offset, blocksX*BLOCK - offset),
//   which covers the input, so every dx element is written, by exactly one thread (elements of
//   a block outside the input are not stored). The windows containing row iy are oy in
//   [ceil((iy + P - K + 1) / S), floor((iy + P) / S)] within [0, OH).
//
// Why this shape: lavapipe runs 8 invocations as one SIMD group, and a load whose address differs
// per lane costs ~8x a uniform one; what counts is per-lane loads per element. The one-pass kernel
// re-derived every containing window's argmax (~36 loads per element); this pass reads 2 per
// window (8 per 2x2 block, 2 per element), and the argmax pass ~2.3 per element. The window loops
// have constant trip counts (NWIN) with out-of-range windows masked, so lanes do not diverge
// except in the final stores at the edges. Batch 8, 64x115x115 stem map, lavapipe, back to back
// at load ~5 on 2 cores: one-pass 881 / 1113 ms, argmax + this gather 144 / 160 ms.

override KSIZE: u32 = 3u;
override STRIDE: u32 = 2u;
override BLOCK: u32 = 2u;
override NWIN: u32 = 2u;
override WG: u32 = 256u;

const NONE: u32 = 0xffffffffu;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> argmax: array<u32>;
@group(0) @binding(2) var<storage, read> dy: array<f32>;
@group(0) @binding(3) var<storage, read_write> dx: array<f32>;

// ceil(t / s) for s > 0 (WGSL's i32 division truncates toward zero, which is ceil for t <= 0).
fn ceilDiv(t: i32, s: i32) -> i32 {
  return select((t + s - 1) / s, t / s, t <= 0);
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let i = gid.x + gid.y * groups.x * WG;
  if (i >= params.blocks) { return; }
  let h = i32(params.inHeight);
  let w = i32(params.inWidth);
  let oh = i32(params.outHeight);
  let ow = i32(params.outWidth);
  let k = i32(KSIZE);
  let s = i32(STRIDE);
  let p = params.padding;
  let b = i32(BLOCK);

  // 1. Decompose: plane nc, block (by, bx) with top-left input element (r0, c0).
  let bx = i32(i % params.blocksX);
  let by = i32((i / params.blocksX) % params.blocksY);
  let nc = i / (params.blocksX * params.blocksY);
  let r0 = by * b - params.offset;
  let c0 = bx * b - params.offset;
  let dyPlane = nc * params.outHeight * params.outWidth;
  let dxPlane = nc * params.inHeight * params.inWidth;

  // 2. Windows containing some element of the block: oy in [oyLo, oyHi], ox in [oxLo, oxHi].
  let oyLo = ceilDiv(r0 + p - k + 1, s);
  let oxLo = ceilDiv(c0 + p - k + 1, s);
  let oyHi = min((r0 + b - 1 + p) / s, oh - 1);
  let oxHi = min((c0 + b - 1 + p) / s, ow - 1);

  // 3. Each window once, in the one-pass kernel's order: its dy goes to the element it picked.
  var acc = array<f32, 4>(0.0, 0.0, 0.0, 0.0);
  for (var ty = 0; ty < i32(NWIN); ty++) {
    let oy = oyLo + ty;
    let rowOk = oy >= 0 && oy <= oyHi;
    for (var tx = 0; tx < i32(NWIN); tx++) {
      let ox = oxLo + tx;
      let j = dyPlane + u32(clamp(oy, 0, oh - 1) * ow + clamp(ox, 0, ow - 1));
      let a = select(NONE, argmax[j], rowOk && ox >= 0 && ox <= oxHi);
      let g = dy[j];
      for (var ey = 0; ey < b; ey++) {
        for (var ex = 0; ex < b; ex++) {
          let e = u32((r0 + ey) * w + c0 + ex);
          acc[ey * 2 + ex] += select(0.0, g, a == e);
        }
      }
    }
  }

  // 4. Store the block's in-image elements.
  for (var ey = 0; ey < b; ey++) {
    let iy = r0 + ey;
    for (var ex = 0; ex < b; ex++) {
      let ix = c0 + ex;
      if (iy >= 0 && iy < h && ix >= 0 && ix < w) {
        dx[dxPlane + u32(iy * w + ix)] = acc[ey * 2 + ex];
      }
    }
  }
}
