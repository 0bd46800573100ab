// conv2d-winograd4-input.wgsl: the input transform of the Winograd F(4x4, 3x3) convolution
// (src/kernels/conv2d-winograd.ts). The output is cut into tiles of 4x4 pixels; tile (ty, tx) of
// image n reads the 6x6 input patch at rows 4ty-1 .. 4ty+4, columns 4tx-1 .. 4tx+4 (padding 1:
// outside the image reads 0), and each input channel's patch d becomes
//
//   V = B^T d B,   B^T = [[36,   0, -97,   0, 36,  0],
//                         [ 0, -12,  -8,  27, 18,  0],
//                         [ 0,  12,  -8, -27, 18,  0],
//                         [ 0, -18, -27,   8, 12,  0],
//                         [ 0,  18, -27,  -8, 12,  0],
//                         [ 0,  36,   0, -97,  0, 36]]
//
// Why these interpolation points (0, +-3/2, +-2/3 and infinity) and not Lavin & Gray's (0, +-1,
// +-2): F(4x4, 3x3) rounds in proportion to its transforms' coefficients, and these points keep
// them balanced. scripts/winograd-points.mjs runs a 3x3 layer (ReLU'd normal inputs, He weights)
// through the transforms of any point set in float32 against float64: at 64 channels the error
// was 1.5e-6 of the output's scale at worst and 1.7e-7 RMS, against 4.9e-6 and 3.7e-7 with Lavin &
// Gray's points (a direct float32 sum: 7.6e-7 and 7.8e-8); at 256 channels 1.8e-6 and 3.3e-7
// against 8.5e-6 and 7.3e-7 (direct: 1.1e-6 and 1.7e-7). Of the 3,060 sets of 0 and four points
// from +-1, +-2, +-3, +-4, +-1/2, +-1/3, +-1/4, +-3/2 and +-2/3 it erred least (Lavin & Gray's: 120th).
// In the engine these points alone erred 2-4x less than Lavin & Gray's on ResNet18's real weights
// and images (test/golden-layer3.test.ts, test/golden-analysis.test.ts) but 1.1-1.5x more in the
// random-weight network test at 53x37, whose small maps are mostly partial tiles; with the products
// also summed in blocks of 16 input channels (conv2d-winograd-gemm-plain.wgsl) less in every test
// (network test, 5 seeds: worst taps 1.9e-6 to 2.3e-6 against 2.5e-6 to 3.3e-6).
// The rows are scaled to integers (G takes the fractions), so V is exact up to a few roundings of
// its sums.
//
// Params (binding 0) is declared in src/kernels/conv2d-winograd.ts, which packs it and emits the struct,
// then parts/winograd-tile.wgsl (tileAt: the thread's channel and tile) and
// parts/winograd-patch.wgsl (patchAt: the input read, 0 in the padding), before this file.
// Bindings (group 0):
//   0 params : uniform Params
//   1 x      : storage read,  array<f32>  NCHW [N, Cin, H, W]
//   2 v      : storage write, array<f32>  [36, Cin, T]: element (xi*Cin + c)*T + t, xi = 6*row + column
//              of V, T = N*tilesH*tilesW tiles, t = (n*tilesH + ty)*tilesW + tx
// Override constants: WG (threads per workgroup).
// Dispatch: grid1d(Cin * T, WG); thread flat = c*T + t, so consecutive threads write consecutive
// elements of each of the 36 planes.
// Invariants: one thread per (channel, tile); every element of v is written by exactly one thread.

override WG: u32 = 64u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> v: array<f32>;

/** B^T applied to a column of six. */
fn bt(d: array<f32, 6>) -> array<f32, 6> {
  // Rows 1 and 2, 3 and 4 share their even and odd parts (the points come in pairs +-p).
  let even12 = 18.0 * d[4] - 8.0 * d[2];
  let odd12 = 12.0 * d[1] - 27.0 * d[3];
  let even34 = 12.0 * d[4] - 27.0 * d[2];
  let odd34 = 18.0 * d[1] - 8.0 * d[3];
  return array<f32, 6>(
    36.0 * (d[0] + d[4]) - 97.0 * d[2],
    even12 - odd12,
    even12 + odd12,
    even34 - odd34,
    even34 + odd34,
    36.0 * (d[1] + d[5]) - 97.0 * d[3],
  );
}

/** B^T over the patch column ix (rows y0 .. y0+5). */
fn column(plane: u32, y0: i32, ix: i32) -> array<f32, 6> {
  return bt(array<f32, 6>(patchAt(plane, y0, ix), patchAt(plane, y0 + 1, ix), patchAt(plane, y0 + 2, ix),
                          patchAt(plane, y0 + 3, ix), patchAt(plane, y0 + 4, ix), patchAt(plane, y0 + 5, ix)));
}

/** Row i of V = B^T over row i of P (element i of each column c0 .. c5), into planes 6i .. 6i+5. */
fn storeRow(i: u32, row: array<f32, 6>, plane36: u32, flat: u32) {
  let v0 = bt(row);
  v[(6u * i) * plane36 + flat] = v0[0];
  v[(6u * i + 1u) * plane36 + flat] = v0[1];
  v[(6u * i + 2u) * plane36 + flat] = v0[2];
  v[(6u * i + 3u) * plane36 + flat] = v0[3];
  v[(6u * i + 4u) * plane36 + flat] = v0[4];
  v[(6u * i + 5u) * plane36 + flat] = v0[5];
}

// No loops and no arrays indexed at run time (every index below is a constant): SwiftShader
// neither unrolls loops nor keeps private arrays in registers (see conv2d-winograd-gemm-plain.wgsl).
@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let flat = gid.x + gid.y * groups.x * WG;
  let T = params.tiles;
  if (flat >= params.inChannels * T) { return; }
  let tile = tileAt(flat);
  let plane = (tile.image * params.inChannels + tile.channel) * params.inHeight * params.inWidth;
  let y0 = 4 * i32(tile.row) - 1;
  let x0 = 4 * i32(tile.column) - 1;
  // P = B^T d, a column of d at a time (c_j = column j of P); then row i of V = P B is B^T over
  // row i of P.
  let c0 = column(plane, y0, x0);
  let c1 = column(plane, y0, x0 + 1);
  let c2 = column(plane, y0, x0 + 2);
  let c3 = column(plane, y0, x0 + 3);
  let c4 = column(plane, y0, x0 + 4);
  let c5 = column(plane, y0, x0 + 5);
  let plane36 = params.inChannels * T;
  storeRow(0u, array<f32, 6>(c0[0], c1[0], c2[0], c3[0], c4[0], c5[0]), plane36, flat);
  storeRow(1u, array<f32, 6>(c0[1], c1[1], c2[1], c3[1], c4[1], c5[1]), plane36, flat);
  storeRow(2u, array<f32, 6>(c0[2], c1[2], c2[2], c3[2], c4[2], c5[2]), plane36, flat);
  storeRow(3u, array<f32, 6>(c0[3], c1[3], c2[3], c3[3], c4[3], c5[3]), plane36, flat);
  storeRow(4u, array<f32, 6>(c0[4], c1[4], c2[4], c3[4], c4[4], c5[4]), plane36, flat);
  storeRow(5u, array<f32, 6>(c0[5], c1[5], c2[5], c3[5], c4[5], c5[5]), plane36, flat);
}
