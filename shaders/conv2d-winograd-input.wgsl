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
// then parts/winograd-tile.wgsl (tileAt: the thread's channel and tile) and
// parts/winograd-patch.wgsl (patchAt: the input read, 0 in the padding), before this file.
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

/** Row iy of the patch: columns x0 .. x0+3. */
fn patchRow(plane: u32, iy: i32, x0: i32) -> vec4<f32> {
  return vec4<f32>(patchAt(plane, iy, x0), patchAt(plane, iy, x0 + 1), patchAt(plane, iy, x0 + 2), patchAt(plane, iy, x0 + 3));
}

/** B^T applied to a column (d0, d1, d2, d3). */
fn bt(d: vec4<f32>) -> vec4<f32> {
  return vec4<f32>(d.x - d.z, d.y + d.z, d.z - d.y, d.y - d.w);
}

/** Row i of V into planes 4i .. 4i+3. */
fn storeRow(i: u32, row: vec4<f32>, plane16: u32, flat: u32) {
  v[(4u * i) * plane16 + flat] = row.x;
  v[(4u * i + 1u) * plane16 + flat] = row.y;
  v[(4u * i + 2u) * plane16 + flat] = row.z;
  v[(4u * i + 3u) * plane16 + flat] = row.w;
}

// No loops and no arrays indexed at run time: SwiftShader neither unrolls loops nor keeps private
// arrays in registers (see conv2d-winograd-gemm-plain.wgsl).
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
  let d0 = patchRow(plane, y0, x0);
  let d1 = patchRow(plane, y0 + 1, x0);
  let d2 = patchRow(plane, y0 + 2, x0);
  let d3 = patchRow(plane, y0 + 3, x0);
  let r0 = d0 - d2;
  let r1 = d1 + d2;
  let r2 = d2 - d1;
  let r3 = d1 - d3;
  let plane16 = params.inChannels * T;
  storeRow(0u, bt(r0), plane16, flat);
  storeRow(1u, bt(r1), plane16, flat);
  storeRow(2u, bt(r2), plane16, flat);
  storeRow(3u, bt(r3), plane16, flat);
}
