// conv2d-winograd-input.wgsl: the input transform of the Winograd F(2x2, 3x3) convolution
// (src/kernels/conv2d-winograd.ts). The output is cut into tiles of 2x2 pixels; tile (ty, tx) of
// image n reads the 4x4 input patch at rows 2ty-1 .. 2ty+2, columns 2tx-1 .. 2tx+2 (padding 1:
// outside the image reads 0), and each input channel's patch d becomes
//
//   V = B^T d B,   B^T = [[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]]
//
// (only additions, so V is exact up to one rounding per addition).
//
// Params (binding 0) is declared in src/kernels/conv2d-winograd.ts, which packs it and emits the struct,
// then parts/winograd-tile.wgsl (tileAt: the thread's channel and tile), before this file.
// Bindings (group 0):
//   0 params : uniform Params
//   1 x      : storage read,  array<f32>  NCHW [N, Cin, H, W]
//   2 v      : storage write, array<f32>  [16, Cin, T]: element (xi*Cin + c)*T + t, xi = 4*row + column
//              of V, T = N*tilesH*tilesW tiles, t = (n*tilesH + ty)*tilesW + tx
// Override constants: WG (threads per workgroup).
// Dispatch: grid1d(Cin * T, WG); thread flat = c*T + t, so consecutive threads write consecutive
// elements of each of the 16 planes.
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

/** B^T applied to a column (d0, d1, d2, d3). */
fn bt(d: vec4<f32>) -> vec4<f32> {
  return vec4<f32>(d.x - d.z, d.y + d.z, d.z - d.y, d.y - d.w);
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let flat = gid.x + gid.y * groups.x * WG;
  let T = params.tiles;
  if (flat >= params.inChannels * T) { return; }
  let tile = tileAt(flat);
  let plane = (tile.image * params.inChannels + tile.channel) * params.inHeight * params.inWidth;
  let y0 = 2 * i32(tile.row) - 1;
  let x0 = 2 * i32(tile.column) - 1;
  // Rows of d, then B^T over the rows (r), then over the columns (B on the right).
  var d: array<vec4<f32>, 4>;
  for (var i = 0; i < 4; i++) {
    d[i] = vec4<f32>(at(plane, y0 + i, x0), at(plane, y0 + i, x0 + 1), at(plane, y0 + i, x0 + 2), at(plane, y0 + i, x0 + 3));
  }
  let r0 = d[0] - d[2];
  let r1 = d[1] + d[2];
  let r2 = d[2] - d[1];
  let r3 = d[1] - d[3];
  let plane16 = params.inChannels * T;
  let rows = array<vec4<f32>, 4>(bt(r0), bt(r1), bt(r2), bt(r3));
  for (var i = 0u; i < 4u; i++) {
    for (var j = 0u; j < 4u; j++) {
      v[(4u * i + j) * plane16 + flat] = rows[i][j];
    }
  }
}
