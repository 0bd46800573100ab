// conv2d-winograd-gemm-plain.wgsl: the 16 products of the Winograd F(2x2, 3x3) convolution,
//
//   M[xi][k][t] = sum_c U[xi][k][c] * V[xi][c][t],
//
// as conv2d-winograd-gemm.wgsl computes them, without workgroup memory or barriers: each thread
// keeps 4 output channels (one vec4 of U) x 4 tiles in registers over the whole sum. The form CPU
// adapters want (on lavapipe a barrier costs a switch of every thread of the workgroup; the caches
// serve the reuse that workgroup memory would); src/kernels/conv2d-winograd.ts picks it there.
// Same bindings and layouts as conv2d-winograd-gemm.wgsl, and the same sum in the same order
// (c = 0, 1, ...).
//
// Params (binding 0) is declared in src/kernels/conv2d-winograd.ts, which packs it and emits the struct before this file.
// Bindings (group 0):
//   0 params : uniform Params
//   1 u      : storage read,  array<vec4<f32>>  [16, ceil(Cout/4), Cin] (element (xi*G4 + g)*Cin + c)
//   2 v      : storage read,  array<f32>        [16, Cin, T]
//   3 m      : storage write, array<f32>        [16, Cout, T]
// Override constants: WG (threads per workgroup).
// Dispatch: grid1d(16 * G4 * B, WG) with B = ceil(T/4) tile blocks; thread flat = (xi*G4 + g)*B + b
// owns tiles b, b+B, b+2B, b+3B (consecutive threads read consecutive elements of V).
// Invariants: every element of m is written by exactly one thread; tiles past T are not read or written.

override WG: u32 = 64u;

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
  let blocks = (T + 3u) / 4u;
  if (flat >= 16u * vec4Groups * blocks) { return; }
  let b = flat % blocks;
  let row = flat / blocks;          // xi*G4 + g
  let xi = row / vec4Groups;
  let g = row % vec4Groups;
  // Tiles past T read tile b instead (always present) and are not stored.
  let t1 = select(b, b + blocks, b + blocks < T);
  let t2 = select(b, b + 2u * blocks, b + 2u * blocks < T);
  let t3 = select(b, b + 3u * blocks, b + 3u * blocks < T);
  var acc0 = vec4<f32>(0.0);
  var acc1 = vec4<f32>(0.0);
  var acc2 = vec4<f32>(0.0);
  var acc3 = vec4<f32>(0.0);
  var uAt = row * cin;
  var vAt = xi * cin * T;
  for (var c = 0u; c < cin; c++) {
    let a = u[uAt];
    acc0 += a * v[vAt + b];
    acc1 += a * v[vAt + t1];
    acc2 += a * v[vAt + t2];
    acc3 += a * v[vAt + t3];
    uAt += 1u;
    vAt += T;
  }
  store(acc0, xi, 4u * g, b);
  if (b + blocks < T) { store(acc1, xi, 4u * g, t1); }
  if (b + 2u * blocks < T) { store(acc2, xi, 4u * g, t2); }
  if (b + 3u * blocks < T) { store(acc3, xi, 4u * g, t3); }
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
