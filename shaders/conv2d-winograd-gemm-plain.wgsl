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
// The 16 accumulators and 8 tile indices are named variables and the loop over the 8 tiles is
// written out: SwiftShader neither unrolls loops nor keeps private arrays in registers, and with
// `array<vec4<f32>, 16>` and an inner loop this kernel ran 4x slower there (ResNet18's layer1
// products at 224: 100 ms against 25); lavapipe compiles both forms alike.
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
  let t0 = b;
  let t1 = select(b, b + blocks, b + blocks < T);
  let t2 = select(b, b + 2u * blocks, b + 2u * blocks < T);
  let t3 = select(b, b + 3u * blocks, b + 3u * blocks < T);
  let t4 = select(b, b + 4u * blocks, b + 4u * blocks < T);
  let t5 = select(b, b + 5u * blocks, b + 5u * blocks < T);
  let t6 = select(b, b + 6u * blocks, b + 6u * blocks < T);
  let t7 = select(b, b + 7u * blocks, b + 7u * blocks < T);
  // p_j: channels 4*g0 .. +3 of tile t_j; q_j: channels 4*g0+4 .. +7.
  var p0 = vec4<f32>(0.0); var p1 = vec4<f32>(0.0); var p2 = vec4<f32>(0.0); var p3 = vec4<f32>(0.0);
  var p4 = vec4<f32>(0.0); var p5 = vec4<f32>(0.0); var p6 = vec4<f32>(0.0); var p7 = vec4<f32>(0.0);
  var q0 = vec4<f32>(0.0); var q1 = vec4<f32>(0.0); var q2 = vec4<f32>(0.0); var q3 = vec4<f32>(0.0);
  var q4 = vec4<f32>(0.0); var q5 = vec4<f32>(0.0); var q6 = vec4<f32>(0.0); var q7 = vec4<f32>(0.0);
  var u0 = (xi * vec4Groups + g0) * cin;
  var u1 = (xi * vec4Groups + g1) * cin;
  var vAt = xi * cin * T;
  for (var c = 0u; c < cin; c++) {
    let a0 = u[u0 + c];
    let a1 = u[u1 + c];
    let x0 = v[vAt + t0]; let x1 = v[vAt + t1]; let x2 = v[vAt + t2]; let x3 = v[vAt + t3];
    let x4 = v[vAt + t4]; let x5 = v[vAt + t5]; let x6 = v[vAt + t6]; let x7 = v[vAt + t7];
    p0 += a0 * x0; q0 += a1 * x0; p1 += a0 * x1; q1 += a1 * x1;
    p2 += a0 * x2; q2 += a1 * x2; p3 += a0 * x3; q3 += a1 * x3;
    p4 += a0 * x4; q4 += a1 * x4; p5 += a0 * x5; q5 += a1 * x5;
    p6 += a0 * x6; q6 += a1 * x6; p7 += a0 * x7; q7 += a1 * x7;
    vAt += T;
  }
  let second = g0 + 1u < vec4Groups;
  // Tile t0 = b always exists.
  store2(p0, q0, second, xi, g0, t0, true);
  store2(p1, q1, second, xi, g0, t1, b + blocks < T);
  store2(p2, q2, second, xi, g0, t2, b + 2u * blocks < T);
  store2(p3, q3, second, xi, g0, t3, b + 3u * blocks < T);
  store2(p4, q4, second, xi, g0, t4, b + 4u * blocks < T);
  store2(p5, q5, second, xi, g0, t5, b + 5u * blocks < T);
  store2(p6, q6, second, xi, g0, t6, b + 6u * blocks < T);
  store2(p7, q7, second, xi, g0, t7, b + 7u * blocks < T);
}

/** Tile t's two channel groups (the second only if it exists), unless the tile is past T (!ok). */
fn store2(p: vec4<f32>, q: vec4<f32>, second: bool, xi: u32, g0: u32, t: u32, ok: bool) {
  if (!ok) { return; }
  store(p, xi, 4u * g0, t);
  if (second) { store(q, xi, 4u * g0 + 4u, t); }
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
