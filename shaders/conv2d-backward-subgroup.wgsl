// conv2d-backward-subgroup.wgsl: conv2d-backward.wgsl (the gradient of a convolution with respect to
// its input, by stride classes, CGROUPS groups of 4 input channels x 8 columns a thread) with the
// transposed weights loaded once per subgroup and handed round by subgroupShuffle. The same sums in
// the same order ((o, ky, kx) ascending per output): every output gets the bits conv2d-backward.wgsl
// gives it.
//
// Why: the weights a thread reads, Wt[4(cg0 + g) .. +3, o, ky, kx], depend on the workgroup only
// (its image, stride class and channel groups), so every lane of a subgroup reads the same ones; on
// lavapipe each of those loads is a loop over the SIMD lanes (see conv2d-subgroup.wgsl). Here the
// taps q = (o * K + ky) * K + kx of the thread's filters are taken S at a time (S = subgroup size):
// lane l holds tap q0 + l of each group, and a tap the class uses is shuffled from the lane that
// holds it. The class uses 1 / S^2 of the taps or more (3x3, stride 2: 1, 2 or 4 of every 9), so a
// chunk of S taps serves several.
//
// Composition (src/kernels/conv2d-backward.ts): Params, GMAX, this file, parts/conv2d-backward-store.wgsl.
// Bindings, Params, overrides, grid: as conv2d-backward.wgsl.
// Invariants (beside conv2d-backward.wgsl's):
//   - no thread leaves before the loops: a thread whose block lies past its class's blocks
//     computes the class's last block again and stores nothing, so that every lane a shuffle reads
//     from is active; a workgroup all of whose blocks lie past them, or whose class is empty,
//     leaves at once, uniformly;
//   - the chunk of taps is reloaded when a used tap lies past it: the condition depends on the
//     loop counters and the class only, so it is uniform, as subgroupShuffle needs;
//   - a lane whose tap q0 + l lies past the last loads the last tap, which no lane reads.

enable subgroups;

override KSIZE: u32 = 3u;
override STRIDE: u32 = 1u;
override WG: u32 = 64u;
/** Groups of 4 input channels per thread, 1 to GMAX. */
override CGROUPS: u32 = 1u;

const COLS: u32 = 8u;
override TAPS: u32 = (KSIZE + STRIDE - 1u) / STRIDE;
const RMAX: u32 = 16u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read> wt: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> addend: array<f32>;
@group(0) @binding(4) var<storage, read> mask: array<f32>;
@group(0) @binding(5) var<storage, read_write> dx: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32,
        @builtin(subgroup_invocation_id) lane: u32, @builtin(subgroup_size) subgroupSize: u32) {
  let cin = params.inChannels;
  let h = params.inHeight;
  let wdt = params.inWidth;
  let cout = params.outChannels;
  let oh = i32(params.outHeight);
  let ow = i32(params.outWidth);
  let ksize = KSIZE;
  let stride = STRIDE;
  let s = i32(stride);
  let p = params.padding;

  // 1. The workgroup's image n, stride class (ry, rx) and first input-channel group cg0.
  let classes = stride * stride;
  let n = wid.z / classes;
  let ry = i32((wid.z % classes) / stride);
  let rx = i32(wid.z % stride);
  let cg0 = wid.y * CGROUPS;
  if (ry >= i32(h) || rx >= i32(wdt)) { return; }

  // 2. This thread's block in the class (past the class's blocks: its last block, not stored).
  let classRows = (i32(h) - ry + s - 1) / s;
  let classCols = (i32(wdt) - rx + s - 1) / s;
  let colBlocks = (classCols + i32(COLS) - 1) / i32(COLS);
  let blocks = classRows * colBlocks;
  if (i32(wid.x * WG) >= blocks) { return; }
  let live = i32(wid.x * WG + lid) < blocks;
  let block = min(i32(wid.x * WG + lid), blocks - 1);
  let a = block / colBlocks;
  let m = block % colBlocks;
  let iy = ry + s * a;
  let ix0 = rx + s * i32(COLS) * m;        // ix_j = ix0 + S j

  // 3. Accumulate over output channels o and the taps of this class, as conv2d-backward.wgsl.
  var acc: array<array<vec4<f32>, COLS>, GMAX>;
  let kk = ksize * ksize;
  let outPlane = params.outHeight * params.outWidth;
  var dyPlane = n * cout * outPlane;       // offset of dy[n, o, 0, 0]
  let wBase = cg0 * cout * kk;             // offset of wt[cg0, 0, 0, 0]
  var wGroup: array<u32, GMAX>;            // offset of wt[cg0 + g, 0, ...] from wt[cg0, 0, ...] (a group past the last: the last)
  let lastGroup = (cin + 3u) / 4u - 1u;
  for (var g = 1u; g < CGROUPS; g++) { wGroup[g] = (min(cg0 + g, lastGroup) - cg0) * cout * kk; }
  // The chunk of taps q0 .. q0+S-1: held[g] = this lane's tap q0 + lane of group g.
  let taps = cout * kk;
  var q0 = 0u;
  var held: array<vec4<f32>, GMAX>;
  for (var g = 0u; g < CGROUPS; g++) { held[g] = wt[wGroup[g] + wBase + min(lane, taps - 1u)]; }
  let kx0 = u32(rx + p) % stride;
  let oxLow = (rx + p - i32(kx0)) / s + i32(COLS) * m - i32(TAPS - 1u);
  for (var o = 0u; o < cout; o++) {
    for (var ky = 0u; ky < ksize; ky++) {
      let ty = ry + p - i32(ky);
      if (ty % s != 0) { continue; }       // uniform: the same for the whole class
      let oy = ty / s + a;
      let rowOk = oy >= 0 && oy < oh;
      let row = dyPlane + u32(clamp(oy, 0, oh - 1)) * params.outWidth;
      // 4. The row of output gradients (0 outside the output), then per tap and group its weights,
      //    from the lane that holds them, times the COLS columns' gradients, taps in ascending kx.
      var d: array<f32, RMAX>;
      for (var r = 0u; r < COLS + TAPS - 1u; r++) {
        let ox = oxLow + i32(r);
        d[r] = select(0.0, dy[row + u32(clamp(ox, 0, ow - 1))], rowOk && ox >= 0 && ox < ow);
      }
      for (var t = 0u; t < TAPS; t++) {
        let kx = kx0 + stride * t;
        if (kx < ksize) {                  // uniform; no break, so the loop unrolls
          let q = (o * ksize + ky) * ksize + kx;
          if (q >= q0 + subgroupSize) {    // uniform: the next chunk, from this tap
            q0 = q;
            let mine = min(q0 + lane, taps - 1u);
            for (var g = 0u; g < CGROUPS; g++) { held[g] = wt[wGroup[g] + wBase + mine]; }
          }
          let e = TAPS - 1u - t;           // d[e + j] is column ox_j of this tap
          for (var g = 0u; g < CGROUPS; g++) {
            let wv = subgroupShuffle(held[g], q - q0);
            for (var j = 0u; j < COLS; j++) { acc[g][j] += d[e + j] * wv; }
          }
        }
      }
    }
    dyPlane += outPlane;
  }

  // 5. Epilogue (parts/conv2d-backward-store.wgsl) for the blocks that exist.
  if (!live) { return; }
  storeInputGradient(acc, n, cg0, iy, ix0);
}
