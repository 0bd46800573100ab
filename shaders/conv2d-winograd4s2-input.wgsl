// conv2d-winograd4s2-input.wgsl: the input transform of the Winograd F(4x4, 3x3) convolution at
// stride 2 (src/kernels/conv2d-winograd.ts). The output is cut into tiles of 4x4 pixels; tile
// (ty, tx) of image n reads the 9x9 input patch d at rows 8ty-1 .. 8ty+7, columns 8tx-1 .. 8tx+7
// (padding 1: outside the image reads 0).
//
// Why it works: along one dimension, output i = g0 d[2i] + g1 d[2i+1] + g2 d[2i+2]. The even
// inputs e = (d0, d2, d4, d6, d8) meet the taps (g0, g2) as a stride-1 convolution of a 2-tap
// filter, F(4, 2); the odd inputs (d1, d3, d5, d7) meet g1 alone, F(4, 1). So each dimension has 9
// transform points, the 5 of F(4, 2) and 4 odd ones, and a 4x4 tile takes 81 products per input
// and output channel where `direct` takes 144:
//
//   V = Bs^T d Bs,   Bs^T e-part = B^T e,   B^T = [[2, -1, -2,  1, 0],
//                                                  [0, -2, -1,  1, 0],
//                                                  [0,  2, -3,  1, 0],
//                                                  [0, -1,  0,  1, 0],
//                                                  [0,  2, -1, -2, 1]],
//                    Bs^T o-part = (d1, d3, d5, d7) as they are.
//
// F(4, 2) interpolates at Lavin & Gray's 0, +-1, 2 and infinity (rows scaled to integers, G takes
// the fractions, as in conv2d-winograd4-input.wgsl). Of the 12 point sets of 0 and three of +-1,
// +-2, +-3, +-1/2, +-3/2, +-2/3 tried (a stride-2 3x3 layer in float32 against float64, as
// scripts/winograd-points.mjs runs one; 64 input channels, products summed in blocks of 16) it
// erred least: 9.0e-8 of the output's scale RMS, 5.0e-7 at worst (a direct sum: 6.6e-8, 2.9e-7);
// at 256 channels 1.6e-7 and 8.2e-7 (direct: 1.8e-7, 9.6e-7).
//
// Params (binding 0) is declared in src/kernels/conv2d-winograd.ts, which packs it and emits the struct,
// then parts/winograd-tile.wgsl (tileAt: the thread's channel and tile) and
// parts/winograd-patch.wgsl (patchAt: the input read, 0 in the padding), before this file.
// Bindings (group 0):
//   0 params : uniform Params
//   1 x      : storage read,  array<f32>  NCHW [N, Cin, H, W]
//   2 v      : storage write, array<f32>  [81, Cin, T]: element (xi*Cin + c)*T + t, xi = 9*row + column
//              of V (points 0 .. 4 even, 5 .. 8 odd), T = N*tilesH*tilesW tiles
// Override constants: WG (threads per workgroup).
// Dispatch: grid1d(Cin * T, WG); thread flat = c*T + t, so consecutive threads write consecutive
// elements of each of the 81 planes.
// Invariants: one thread per (channel, tile); every element of v is written by exactly one thread.

override WG: u32 = 64u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> v: array<f32>;

/** Bs^T applied to a line of nine inputs: B^T over the even ones, the odd ones as they are. */
fn bs(d: array<f32, 9>) -> array<f32, 9> {
  return array<f32, 9>(
    2.0 * (d[0] - d[4]) - d[2] + d[6],
    d[6] - 2.0 * d[2] - d[4],
    2.0 * d[2] - 3.0 * d[4] + d[6],
    d[6] - d[2],
    2.0 * (d[2] - d[6]) - d[4] + d[8],
    d[1], d[3], d[5], d[7],
  );
}

/** Bs^T over the patch column ix (rows y0 .. y0+8). */
fn column(plane: u32, y0: i32, ix: i32) -> array<f32, 9> {
  return bs(array<f32, 9>(patchAt(plane, y0, ix), patchAt(plane, y0 + 1, ix), patchAt(plane, y0 + 2, ix),
                          patchAt(plane, y0 + 3, ix), patchAt(plane, y0 + 4, ix), patchAt(plane, y0 + 5, ix),
                          patchAt(plane, y0 + 6, ix), patchAt(plane, y0 + 7, ix), patchAt(plane, y0 + 8, ix)));
}

/** Row i of V = Bs^T over row i of P, into planes 9i .. 9i+8. */
fn storeRow(i: u32, row: array<f32, 9>, plane81: u32, flat: u32) {
  let v0 = bs(row);
  v[(9u * i) * plane81 + flat] = v0[0];
  v[(9u * i + 1u) * plane81 + flat] = v0[1];
  v[(9u * i + 2u) * plane81 + flat] = v0[2];
  v[(9u * i + 3u) * plane81 + flat] = v0[3];
  v[(9u * i + 4u) * plane81 + flat] = v0[4];
  v[(9u * i + 5u) * plane81 + flat] = v0[5];
  v[(9u * i + 6u) * plane81 + flat] = v0[6];
  v[(9u * i + 7u) * plane81 + flat] = v0[7];
  v[(9u * i + 8u) * plane81 + flat] = v0[8];
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
  let y0 = 8 * i32(tile.row) - 1;
  let x0 = 8 * i32(tile.column) - 1;
  // P = Bs^T d, a column of d at a time (c_j = column j of P); then row i of V = P Bs is Bs^T over
  // row i of P.
  let c0 = column(plane, y0, x0);
  let c1 = column(plane, y0, x0 + 1);
  let c2 = column(plane, y0, x0 + 2);
  let c3 = column(plane, y0, x0 + 3);
  let c4 = column(plane, y0, x0 + 4);
  let c5 = column(plane, y0, x0 + 5);
  let c6 = column(plane, y0, x0 + 6);
  let c7 = column(plane, y0, x0 + 7);
  let c8 = column(plane, y0, x0 + 8);
  let plane81 = params.inChannels * T;
  storeRow(0u, array<f32, 9>(c0[0], c1[0], c2[0], c3[0], c4[0], c5[0], c6[0], c7[0], c8[0]), plane81, flat);
  storeRow(1u, array<f32, 9>(c0[1], c1[1], c2[1], c3[1], c4[1], c5[1], c6[1], c7[1], c8[1]), plane81, flat);
  storeRow(2u, array<f32, 9>(c0[2], c1[2], c2[2], c3[2], c4[2], c5[2], c6[2], c7[2], c8[2]), plane81, flat);
  storeRow(3u, array<f32, 9>(c0[3], c1[3], c2[3], c3[3], c4[3], c5[3], c6[3], c7[3], c8[3]), plane81, flat);
  storeRow(4u, array<f32, 9>(c0[4], c1[4], c2[4], c3[4], c4[4], c5[4], c6[4], c7[4], c8[4]), plane81, flat);
  storeRow(5u, array<f32, 9>(c0[5], c1[5], c2[5], c3[5], c4[5], c5[5], c6[5], c7[5], c8[5]), plane81, flat);
  storeRow(6u, array<f32, 9>(c0[6], c1[6], c2[6], c3[6], c4[6], c5[6], c6[6], c7[6], c8[6]), plane81, flat);
  storeRow(7u, array<f32, 9>(c0[7], c1[7], c2[7], c3[7], c4[7], c5[7], c6[7], c7[7], c8[7]), plane81, flat);
  storeRow(8u, array<f32, 9>(c0[8], c1[8], c2[8], c3[8], c4[8], c5[8], c6[8], c7[8], c8[8]), plane81, flat);
}
