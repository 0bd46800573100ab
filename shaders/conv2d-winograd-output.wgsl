// conv2d-winograd-output.wgsl: the output transform and epilogue of the Winograd F(2x2, 3x3)
// convolution (src/kernels/conv2d-winograd.ts). Tile t of output channel k gathers its 16 products
// M[xi][k][t] (conv2d-winograd-gemm.wgsl) as a 4x4 matrix m and makes the 2x2 outputs
//
//   Y = A^T m A,   A^T = [[1, 1, 1, 0], [0, 1, -1, -1]]
//
// then the epilogue of the other conv2d variants: y = Y * scale[k] + shift[k], max(y, 0) when relu
// is 1; when it is 2 (both), y is stored as it is and yRelu gets max(y, 0).
// Outputs past the last row or column (odd output sizes: the last tiles are partial) are not written.
//
// Params (binding 0) is declared in src/kernels/conv2d-winograd.ts, which packs it and emits the struct,
// then parts/winograd-tile.wgsl (tileAt: the thread's channel and tile) and
// parts/winograd-store.wgsl (storeOutput: the epilogue's store), before this file.
// Bindings (group 0):
//   0 params : uniform Params
//   1 m      : storage read,  array<f32>  [16, Cout, T] (element (xi*Cout + k)*T + t)
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

/** A^T applied to a column (m0, m1, m2, m3). */
fn at(c: vec4<f32>) -> vec2<f32> {
  return vec2<f32>(c.x + c.y + c.z, c.y - c.z - c.w);
}

/** Row i of m: products 4i .. 4i+3 of this thread's (channel, tile). */
fn mRow(i: u32, plane16: u32, flat: u32) -> vec4<f32> {
  return vec4<f32>(m[(4u * i) * plane16 + flat], m[(4u * i + 1u) * plane16 + flat],
                   m[(4u * i + 2u) * plane16 + flat], m[(4u * i + 3u) * plane16 + flat]);
}

// No loops and no arrays indexed at run time: SwiftShader neither unrolls loops nor keeps private
// arrays in registers (see conv2d-winograd-gemm-plain.wgsl).
@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let flat = gid.x + gid.y * groups.x * WG;
  let T = params.tiles;
  let cout = params.outChannels;
  if (flat >= cout * T) { return; }
  let tile = tileAt(flat);
  let k = tile.channel;
  let plane16 = cout * T;
  let r0 = mRow(0u, plane16, flat);
  let r1 = mRow(1u, plane16, flat);
  let r2 = mRow(2u, plane16, flat);
  let r3 = mRow(3u, plane16, flat);
  // p_j = column j of P = A^T m; then row a of Y = P A is A^T over (p0[a], p1[a], p2[a], p3[a]).
  let p0 = at(vec4<f32>(r0.x, r1.x, r2.x, r3.x));
  let p1 = at(vec4<f32>(r0.y, r1.y, r2.y, r3.y));
  let p2 = at(vec4<f32>(r0.z, r1.z, r2.z, r3.z));
  let p3 = at(vec4<f32>(r0.w, r1.w, r2.w, r3.w));
  let yTop = at(vec4<f32>(p0.x, p1.x, p2.x, p3.x));
  let yBottom = at(vec4<f32>(p0.y, p1.y, p2.y, p3.y));
  let oy = 2u * tile.row;
  let ox = 2u * tile.column;
  let base = (tile.image * cout + k) * params.outHeight * params.outWidth;
  let sc = scale[k];
  let sh = shift[k];
  storeOutput(base, oy, ox, yTop.x, sc, sh);
  storeOutput(base, oy, ox + 1u, yTop.y, sc, sh);
  storeOutput(base, oy + 1u, ox, yBottom.x, sc, sh);
  storeOutput(base, oy + 1u, ox + 1u, yBottom.y, sc, sh);
}
