// conv2d-winograd4s2-output.wgsl: the output transform and epilogue of the Winograd F(4x4, 3x3)
// convolution at stride 2 (src/kernels/conv2d-winograd.ts). Tile t of output channel k gathers its
// 81 products M[xi][k][t] (conv2d-winograd-gemm*.wgsl) as a 9x9 matrix m and makes the 4x4 outputs
//
//   Y = As^T m As,   As^T = [A^T | I4],   A^T = [[1, 1,  1, 1, 0],
//                                                [0, 1, -1, 2, 0],
//                                                [0, 1,  1, 4, 0],
//                                                [0, 1, -1, 8, 1]]
//
// (F(4, 2) at 0, +-1, 2 and infinity over the even points 0 .. 4, plus the odd points 5 .. 8 as
// they are: see conv2d-winograd4s2-input.wgsl), then the epilogue of the other conv2d variants:
// y = Y * scale[k] + shift[k], max(y, 0) when relu is 1; when it is 2 (both), y is stored as it is
// and yRelu gets max(y, 0). Outputs past the last row or column are not written.
//
// Params (binding 0) is declared in src/kernels/conv2d-winograd.ts, which packs it and emits the struct,
// then parts/winograd-tile.wgsl (tileAt: the thread's channel and tile) and
// parts/winograd-store.wgsl (storeOutput: the epilogue's store; putRow: a row of a tile), before this file.
// Bindings (group 0):
//   0 params : uniform Params
//   1 m      : storage read,  array<f32>  [81, Cout, T] (element (xi*Cout + k)*T + t)
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

/** As^T applied to a line of nine. */
fn at(c: array<f32, 9>) -> vec4<f32> {
  let sum12 = c[1] + c[2];
  let diff12 = c[1] - c[2];
  return vec4<f32>(c[0] + sum12 + c[3], diff12 + 2.0 * c[3], sum12 + 4.0 * c[3], diff12 + 8.0 * c[3] + c[4])
    + vec4<f32>(c[5], c[6], c[7], c[8]);
}

/** As^T over column j of m: products j, 9+j, .., 72+j of this thread's (channel, tile). */
fn column(j: u32, plane81: u32, flat: u32) -> vec4<f32> {
  return at(array<f32, 9>(m[j * plane81 + flat], m[(9u + j) * plane81 + flat], m[(18u + j) * plane81 + flat],
                          m[(27u + j) * plane81 + flat], m[(36u + j) * plane81 + flat], m[(45u + j) * plane81 + flat],
                          m[(54u + j) * plane81 + flat], m[(63u + j) * plane81 + flat], m[(72u + j) * plane81 + flat]));
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
  let plane81 = cout * T;
  // P = As^T m, a column of m at a time (p_j, 4 x 9); then row a of Y = P As is As^T over row a of P.
  let p0 = column(0u, plane81, flat);
  let p1 = column(1u, plane81, flat);
  let p2 = column(2u, plane81, flat);
  let p3 = column(3u, plane81, flat);
  let p4 = column(4u, plane81, flat);
  let p5 = column(5u, plane81, flat);
  let p6 = column(6u, plane81, flat);
  let p7 = column(7u, plane81, flat);
  let p8 = column(8u, plane81, flat);
  let oy = 4u * tile.row;
  let ox = 4u * tile.column;
  let base = (tile.image * cout + k) * params.outHeight * params.outWidth;
  let sc = scale[k];
  let sh = shift[k];
  putRow(base, oy, ox, at(array<f32, 9>(p0.x, p1.x, p2.x, p3.x, p4.x, p5.x, p6.x, p7.x, p8.x)), sc, sh);
  putRow(base, oy + 1u, ox, at(array<f32, 9>(p0.y, p1.y, p2.y, p3.y, p4.y, p5.y, p6.y, p7.y, p8.y)), sc, sh);
  putRow(base, oy + 2u, ox, at(array<f32, 9>(p0.z, p1.z, p2.z, p3.z, p4.z, p5.z, p6.z, p7.z, p8.z)), sc, sh);
  putRow(base, oy + 3u, ox, at(array<f32, 9>(p0.w, p1.w, p2.w, p3.w, p4.w, p5.w, p6.w, p7.w, p8.w)), sc, sh);
}
