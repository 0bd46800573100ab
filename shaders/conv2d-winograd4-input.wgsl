// conv2d-winograd4-input.wgsl: the input transform of the Winograd F(4x4, 3x3) convolution
// (src/kernels/conv2d-winograd.ts). The output is cut into tiles of 4x4 pixels; tile (ty, tx) of
// image n reads the 6x6 input patch at rows 4ty-1 .. 4ty+4, columns 4tx-1 .. 4tx+4 (padding 1:
// outside the image reads 0), and each input channel's patch d becomes
//
//   V = B^T d B,   B^T = [[4,  0, -5,  0, 1, 0],
//                         [0, -4, -4,  1, 1, 0],
//                         [0,  4, -4, -1, 1, 0],
//                         [0, -2, -1,  2, 1, 0],
//                         [0,  2, -1, -2, 1, 0],
//                         [0,  4,  0, -5, 0, 1]]
//
// (Lavin & Gray's interpolation points 0, +-1, +-2 and infinity; small integer coefficients, so V
// is exact up to a few roundings per element).
//
// Params (binding 0) is declared in src/kernels/conv2d-winograd.ts, which packs it and emits the struct,
// then parts/winograd-tile.wgsl (tileAt: the thread's channel and tile), before this file.
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

/** x[plane + iy*W + ix], or 0 in the padding. */
fn at(plane: u32, iy: i32, ix: i32) -> f32 {
  if (iy < 0 || ix < 0 || iy >= i32(params.inHeight) || ix >= i32(params.inWidth)) { return 0.0; }
  return x[plane + u32(iy) * params.inWidth + u32(ix)];
}

/** B^T applied to a column of six. */
fn bt(d: array<f32, 6>) -> array<f32, 6> {
  return array<f32, 6>(
    4.0 * d[0] - 5.0 * d[2] + d[4],
    d[3] + d[4] - 4.0 * (d[1] + d[2]),
    4.0 * (d[1] - d[2]) - d[3] + d[4],
    2.0 * (d[3] - d[1]) - d[2] + d[4],
    2.0 * (d[1] - d[3]) - d[2] + d[4],
    4.0 * d[1] - 5.0 * d[3] + d[5],
  );
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let flat = gid.x + gid.y * groups.x * WG;
  let T = params.tiles;
  if (flat >= params.inChannels * T) { return; }
  let tile = tileAt(flat);
  let plane = (tile.image * params.inChannels + tile.channel) * params.inHeight * params.inWidth;
  let y0 = 4 * i32(tile.row) - 1;
  let x0 = 4 * i32(tile.column) - 1;
  // P = B^T d, a column of d at a time; then row i of V = P B is B^T over row i of P.
  var p: array<array<f32, 6>, 6>;
  for (var j = 0; j < 6; j++) {
    let col = bt(array<f32, 6>(at(plane, y0, x0 + j), at(plane, y0 + 1, x0 + j), at(plane, y0 + 2, x0 + j),
                               at(plane, y0 + 3, x0 + j), at(plane, y0 + 4, x0 + j), at(plane, y0 + 5, x0 + j)));
    for (var i = 0; i < 6; i++) { p[i][j] = col[i]; }
  }
  let plane36 = params.inChannels * T;
  for (var i = 0u; i < 6u; i++) {
    let row = bt(p[i]);
    for (var j = 0u; j < 6u; j++) {
      v[(6u * i + j) * plane36 + flat] = row[j];
    }
  }
}
