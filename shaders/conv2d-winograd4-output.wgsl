// conv2d-winograd4-output.wgsl: the output transform and epilogue of the Winograd F(4x4, 3x3)
// convolution (src/kernels/conv2d-winograd.ts). Tile t of output channel k gathers its 36 products
// M[xi][k][t] (conv2d-winograd-gemm*.wgsl) as a 6x6 matrix m and makes the 4x4 outputs
//
//   Y = A^T m A,   A^T = [[1,  8,   8, 27,  27, 0],
//                         [0, 12, -12, 18, -18, 0],
//                         [0, 18,  18, 12,  12, 0],
//                         [0, 27, -27,  8,  -8, 1]]
//
// (the points 0, +-3/2, +-2/3 and infinity, columns scaled to integers: see conv2d-winograd4-input.wgsl),
// then the epilogue of the other conv2d variants: y = Y * scale[k] + shift[k], max(y, 0) when relu
// is 1; when it is 2 (both), y is stored as it is and yRelu gets max(y, 0).
// Outputs past the last row or column (sizes not a multiple of 4: the last tiles are partial) are
// not written.
//
// Params (binding 0) is declared in src/kernels/conv2d-winograd.ts, which packs it and emits the struct,
// then parts/winograd-tile.wgsl (tileAt: the thread's channel and tile) and
// parts/winograd-store.wgsl (storeOutput: the epilogue's store; putRow: a row of a tile), before this file.
// Bindings (group 0):
//   0 params : uniform Params
//   1 m      : storage read,  array<f32>  [36, Cout, T] (element (xi*Cout + k)*T + t)
//   2 scale  : storage read,  array<f32>  [Cout]
//   3 shift  : storage read,  array<f32>  [Cout]
//   4 y      : storage write, array<f32>  NCHW [N, Cout, OH, OW]
//   5 yRelu  : storage write, array<f32>  max(y, 0), written only when params.relu is 2 (both
//               outputs); any small buffer otherwise
// Override constants: WG (threads per workgroup).
// Dispatch: grid1d(Cout * T, WG); thread flat = k*T + t (consecutive threads read consecutive m).
// Invariants: each output pixel lies in exactly one tile, so it has exactly one writer.

override WG: u32 = 64u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> m: array<f32>;
@group(0) @binding(2) var<storage, read> scale: array<f32>;
@group(0) @binding(3) var<storage, read> shift: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;
@group(0) @binding(5) var<storage, read_write> yRelu: array<f32>;

/** A^T applied to a column of six. */
fn at(c: array<f32, 6>) -> vec4<f32> {
  let sum12 = c[1] + c[2];
  let diff12 = c[1] - c[2];
  let sum34 = c[3] + c[4];
  let diff34 = c[3] - c[4];
  return vec4<f32>(c[0] + 8.0 * sum12 + 27.0 * sum34, 12.0 * diff12 + 18.0 * diff34, 18.0 * sum12 + 12.0 * sum34,
                   27.0 * diff12 + 8.0 * diff34 + c[5]);
}

/** A^T over column j of m: products j, 6+j, .., 30+j of this thread's (channel, tile). */
fn column(j: u32, plane36: u32, flat: u32) -> vec4<f32> {
  return at(array<f32, 6>(m[j * plane36 + flat], m[(6u + j) * plane36 + flat], m[(12u + j) * plane36 + flat],
                          m[(18u + j) * plane36 + flat], m[(24u + j) * plane36 + flat], m[(30u + j) * plane36 + flat]));
}

// No loops and no arrays indexed at run time (every index below is a constant): SwiftShader
// neither unrolls loops nor keeps private arrays in registers (see conv2d-winograd-gemm-plain.wgsl).
@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let flat = gid.x + gid.y * groups.x * WG;
  let T = params.tiles;
  let cout = params.outChannels;
  if (flat >= cout * T) { return; }
  let tile = tileAt(flat);
  let k = tile.channel;
  let plane36 = cout * T;
  // P = A^T m, a column of m at a time (p_j, 4 x 6); then row a of Y = P A is A^T over row a of P.
  let p0 = column(0u, plane36, flat);
  let p1 = column(1u, plane36, flat);
  let p2 = column(2u, plane36, flat);
  let p3 = column(3u, plane36, flat);
  let p4 = column(4u, plane36, flat);
  let p5 = column(5u, plane36, flat);
  let oy = 4u * tile.row;
  let ox = 4u * tile.column;
  let base = (tile.image * cout + k) * params.outHeight * params.outWidth;
  let sc = scale[k];
  let sh = shift[k];
  putRow(base, oy, ox, at(array<f32, 6>(p0.x, p1.x, p2.x, p3.x, p4.x, p5.x)), sc, sh);
  putRow(base, oy + 1u, ox, at(array<f32, 6>(p0.y, p1.y, p2.y, p3.y, p4.y, p5.y)), sc, sh);
  putRow(base, oy + 2u, ox, at(array<f32, 6>(p0.z, p1.z, p2.z, p3.z, p4.z, p5.z)), sc, sh);
  putRow(base, oy + 3u, ox, at(array<f32, 6>(p0.w, p1.w, p2.w, p3.w, p4.w, p5.w)), sc, sh);
}
