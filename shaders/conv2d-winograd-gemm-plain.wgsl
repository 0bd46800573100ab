// conv2d-winograd-gemm-plain.wgsl: the products of the Winograd convolutions, 16 for F(2x2, 3x3)
// and 36 for F(4x4, 3x3),
//
//   M[xi][k][t] = sum_c U[xi][k][c] * V[xi][c][t],
//
// as conv2d-winograd-gemm.wgsl computes them, without workgroup memory or barriers: each thread
// keeps 8 output channels (two vec4 of U) x 8 tiles in registers over the whole sum, 64 multiply-adds
// per 2 vec4 and 8 scalar loads (4 x 4 per thread ran 1.5-5x slower on lavapipe). The form CPU
// adapters want (on lavapipe a barrier costs a switch of every thread of the workgroup; the caches
// serve the reuse that workgroup memory would); src/kernels/conv2d-winograd.ts picks it there.
// Same bindings and layouts as conv2d-winograd-gemm.wgsl, and the same sum in the same order
// (c = 0, 1, ...).
//
// Params (binding 0) is declared in src/kernels/conv2d-winograd.ts, which packs it and emits the struct before this file.
// Bindings (group 0):
//   0 params : uniform Params
//   1 u      : storage read,  array<vec4<f32>>  [X, ceil(Cout/4), Cin] (element (xi*G4 + g)*Cin + c)
//   2 v      : storage read,  array<f32>        [X, Cin, T]
//   3 m      : storage write, array<f32>        [X, Cout, T]
// Override constants: WG (threads per workgroup), PRODUCTS (X: 16 or 36).
// Dispatch: grid1d(X * P * B, WG) with P = ceil(G4/2) pairs of channel groups, B = ceil(T/8) tile
// blocks; thread flat = (xi*P + p)*B + b owns groups 2p, 2p+1 and tiles b, b+B, ..., b+7B
// (consecutive threads read consecutive elements of V).
// Invariants: every element of m is written by exactly one thread; tiles past T are not read or written.

override WG: u32 = 64u;
override PRODUCTS: u32 = 16u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> u: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> v: array<f32>;
@group(0) @binding(3) var<storage, read_write> m: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let flat = gid.x + gid.y * groups.x * WG;
  let cin = params.inChannels;
  let cout = params.outChannels;
  let T = params.tiles;
  let vec4Groups = (cout + 3u) / 4u;
  let pairs = (vec4Groups + 1u) / 2u;
  let blocks = (T + 7u) / 8u;
  if (flat >= PRODUCTS * pairs * blocks) { return; }
  let b = flat % blocks;
  let row = flat / blocks;          // xi*pairs + pair
  let xi = row / pairs;
  let g0 = 2u * (row % pairs);
  // A missing second group (odd group count) reads the first again and is not stored.
  let g1 = min(g0 + 1u, vec4Groups - 1u);
  // Tiles past T read tile b instead (always present) and are not stored.
  var t: array<u32, 8>;
  for (var j = 0u; j < 8u; j++) {
    t[j] = select(b, b + j * blocks, b + j * blocks < T);
  }
  var acc: array<vec4<f32>, 16>;
  for (var j = 0u; j < 16u; j++) { acc[j] = vec4<f32>(0.0); }
  var u0 = (xi * vec4Groups + g0) * cin;
  var u1 = (xi * vec4Groups + g1) * cin;
  var vAt = xi * cin * T;
  for (var c = 0u; c < cin; c++) {
    let a0 = u[u0 + c];
    let a1 = u[u1 + c];
    for (var j = 0u; j < 8u; j++) {
      let x = v[vAt + t[j]];
      acc[j] += a0 * x;
      acc[8u + j] += a1 * x;
    }
    vAt += T;
  }
  for (var j = 0u; j < 8u; j++) {
    if (b + j * blocks < T) {
      store(acc[j], xi, 4u * g0, t[j]);
      if (g0 + 1u < vec4Groups) { store(acc[8u + j], xi, 4u * g0 + 4u, t[j]); }
    }
  }
}
/** Write output channels o0 .. o0+3 (those that exist) of tile t of product xi. */
fn store(acc: vec4<f32>, xi: u32, o0: u32, t: u32) {
  for (var c = 0u; c < 4u; c++) {
    let o = o0 + c;
    if (o < params.outChannels) {
      m[(xi * params.outChannels + o) * params.tiles + t] = acc[c];
    }
  }
}
