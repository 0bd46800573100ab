// conv2d-winograd-gemm.wgsl: the X independent products of the Winograd convolutions
// (src/kernels/conv2d-winograd.ts), one per element xi of the transformed tile: X = 16 (4x4) for
// F(2x2, 3x3), 36 (6x6) for F(4x4, 3x3), 81 (9x9) for F(4x4, 3x3) at stride 2:
//
//   M[xi][k][t] = sum_c U[filterPlane(xi)][k][c] * V[xi][c][t]
//
// (filterPlane: parts/winograd-filter-plane.wgsl, joined after this file; xi itself but at stride 2)
//
// with U the transformed filters (conv2d-winograd{,4}-filter.wgsl), V the transformed input tiles
// (conv2d-winograd{,4}-input.wgsl). Each is a matrix product [Cout x Cin] x [Cin x T], tiled as
// conv2d-gemm.wgsl tiles its implicit GEMM (the input channels play the taps, the tiles the pixels).
//
// Params (binding 0) is declared in src/kernels/conv2d-winograd.ts, which packs it and emits the struct before this file.
// Bindings (group 0):
//   0 params : uniform Params
//   1 u      : storage read,  array<vec4<f32>>  [X (36 at stride 2), ceil(Cout/4), Cin] vec4 over 4 output channels:
//              element (xi*G4 + g)*Cin + c holds U[xi][4g .. 4g+3][c] (channels past Cout are 0)
//   2 v      : storage read,  array<f32>        [X, Cin, T]
//   3 m      : storage write, array<f32>        [X, Cout, T]
//
// Tiling: a workgroup of 256 threads (tx, ty) = (i % 16, i / 16) owns 64 output channels x 64 tiles
// of one xi (workgroup_id.z). Per step of 16 input channels it stages U's 16 x 64 slice (256 vec4)
// and V's 16 x 64 slice (1024 floats) in workgroup memory; each thread accumulates 4 channels x 4
// tiles (columns tx, tx+16, tx+32, tx+48) in 4 vec4 registers.
//
// Dispatch grid: (ceil(T/64), ceil(Cout/64), X) workgroups.
//
// Invariants:
//   - the loop's bounds depend only on params, so every thread of a workgroup reaches every barrier;
//   - out-of-range channels and tiles are staged as 0 and never written;
//   - every element of m is written by exactly one thread.

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> u: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> v: array<f32>;
@group(0) @binding(3) var<storage, read_write> m: array<f32>;

// Threads per workgroup: the tiling below is written for 256 (16 x 16), which the wrapper passes.
override WG: u32 = 256u;

// TILE, STEP, tileA, tileB and accumulateStep: shaders/parts/gemm-tile.wgsl, joined after this file.

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) flat: u32, @builtin(workgroup_id) wid: vec3<u32>) {
  let tx = flat % 16u;
  let ty = flat / 16u;
  let xi = wid.z;
  let t0 = wid.x * TILE;
  let group0 = wid.y * 16u;
  let cin = params.inChannels;
  let cout = params.outChannels;
  let T = params.tiles;
  let vec4Groups = (cout + 3u) / 4u;
  let uBase = filterPlane(xi) * vec4Groups * cin;
  let vBase = xi * cin * T;

  var acc0 = vec4<f32>(0.0);
  var acc1 = vec4<f32>(0.0);
  var acc2 = vec4<f32>(0.0);
  var acc3 = vec4<f32>(0.0);

  for (var c0 = 0u; c0 < cin; c0 += STEP) {
    // Stage U: thread (tx, ty) loads input channel c0+ty of channel group group0+tx.
    {
      let c = c0 + ty;
      let g = group0 + tx;
      var a = vec4<f32>(0.0);
      if (c < cin && g < vec4Groups) {
        a = u[uBase + g * cin + c];
      }
      tileA[ty * 16u + tx] = a;
    }
    // Stage V: element e = flat + 256*i holds channel row e / 64, tile column e % 64.
    for (var i = 0u; i < 4u; i++) {
      let e = flat + 256u * i;
      let c = c0 + e / TILE;
      let t = t0 + e % TILE;
      var b = 0.0;
      if (c < cin && t < T) {
        b = v[vBase + c * T + t];
      }
      tileB[e] = b;
    }
    workgroupBarrier();
    accumulateStep(tx, ty, &acc0, &acc1, &acc2, &acc3);
    workgroupBarrier();
  }

  let o0 = (group0 + ty) * 4u;
  store(acc0, o0, t0 + tx, xi);
  store(acc1, o0, t0 + tx + 16u, xi);
  store(acc2, o0, t0 + tx + 32u, xi);
  store(acc3, o0, t0 + tx + 48u, xi);
}

/** Write output channels o0 .. o0+3 of tile t of product xi, those that exist. */
fn store(acc: vec4<f32>, o0: u32, t: u32, xi: u32) {
  if (t >= params.tiles) {
    return;
  }
  for (var c = 0u; c < 4u; c++) {
    let o = o0 + c;
    if (o < params.outChannels) {
      m[(xi * params.outChannels + o) * params.tiles + t] = acc[c];
    }
  }
}
