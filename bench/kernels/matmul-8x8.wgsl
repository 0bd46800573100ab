// matmul-8x8: C = A * B, dense float32, row-major, every thread computing an 8x8 block of C in
// registers (16 vec4 accumulators). The second candidate of the benchmark's ceiling next to
// matmul-4x4.wgsl (same bindings and layouts); bench/matmul.ts times both and keeps the faster.
//
// Bindings (group 0):
//   0  a      array<vec4<f32>>  A, M x K row-major: a[(row * K + k) / 4] holds A[row][k..k+3]
//   1  b      array<vec4<f32>>  B, K x N row-major: b[(k * N + col) / 4] holds B[k][col..col+3]
//   2  c      array<vec4<f32>>  C, M x N row-major, written whole
//   3  dims   uniform {M, N, K}
// Invariants: M and N are multiples of 8, K of 4; buffers are exactly sized.
//
// Dispatch: workgroup (WG_X, WG_Y); grid (ceil(N / (8 * WG_X)), ceil(M / (8 * WG_Y))). Thread
// (x, y) owns rows 8y..8y+7 and columns 8x..8x+7 (two vec4 columns) of C.
//
// Why: on the CPU adapters a storage load whose index varies per thread is done lane by lane and
// costs about the same whatever its width, so the count of loads per multiply-add decides. Per four
// steps of K this kernel loads 8 vec4 of A and 8 of B for 64 vec4 multiply-adds (4 per load); the
// 4x4 kernel loads 8 for 16 (2 per load). The register pressure (32 live vec4) spills on x86, but
// spills hit L1 and cost less than the loads saved. This is the blocking shaders/conv2d.wgsl uses.

override WG_X: u32 = 8;
override WG_Y: u32 = 8;

struct Dims {
  M: u32,
  N: u32,
  K: u32,
}

@group(0) @binding(0) var<storage, read> a: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> b: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> c: array<vec4<f32>>;
@group(0) @binding(3) var<uniform> dims: Dims;

@compute @workgroup_size(WG_X, WG_Y, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  // 1. This thread's block: vec4 columns c0 = 2x and 2x+1, rows row..row+7.
  let n4 = dims.N / 4u;
  let k4 = dims.K / 4u;
  let c0 = gid.x * 2u;
  let row = gid.y * 8u;
  if (c0 >= n4 || row >= dims.M) {
    return;
  }

  // Accumulators: lN / rN are row N's left and right vec4 columns.
  var l0 = vec4<f32>(0.0); var r0 = vec4<f32>(0.0);
  var l1 = vec4<f32>(0.0); var r1 = vec4<f32>(0.0);
  var l2 = vec4<f32>(0.0); var r2 = vec4<f32>(0.0);
  var l3 = vec4<f32>(0.0); var r3 = vec4<f32>(0.0);
  var l4 = vec4<f32>(0.0); var r4 = vec4<f32>(0.0);
  var l5 = vec4<f32>(0.0); var r5 = vec4<f32>(0.0);
  var l6 = vec4<f32>(0.0); var r6 = vec4<f32>(0.0);
  var l7 = vec4<f32>(0.0); var r7 = vec4<f32>(0.0);

  // 2. Walk K four at a time.
  for (var kk = 0u; kk < k4; kk++) {
    // 2a. Four rows of B, two vec4 each: B[k+j][8x .. 8x+7].
    let kb = kk * 4u;
    let bl0 = b[(kb + 0u) * n4 + c0]; let br0 = b[(kb + 0u) * n4 + c0 + 1u];
    let bl1 = b[(kb + 1u) * n4 + c0]; let br1 = b[(kb + 1u) * n4 + c0 + 1u];
    let bl2 = b[(kb + 2u) * n4 + c0]; let br2 = b[(kb + 2u) * n4 + c0 + 1u];
    let bl3 = b[(kb + 3u) * n4 + c0]; let br3 = b[(kb + 3u) * n4 + c0 + 1u];
    // 2b. One vec4 of each of the eight A rows, then 8 vec4 multiply-adds per row.
    var av = a[(row + 0u) * k4 + kk];
    l0 += av.x * bl0 + av.y * bl1 + av.z * bl2 + av.w * bl3;
    r0 += av.x * br0 + av.y * br1 + av.z * br2 + av.w * br3;
    av = a[(row + 1u) * k4 + kk];
    l1 += av.x * bl0 + av.y * bl1 + av.z * bl2 + av.w * bl3;
    r1 += av.x * br0 + av.y * br1 + av.z * br2 + av.w * br3;
    av = a[(row + 2u) * k4 + kk];
    l2 += av.x * bl0 + av.y * bl1 + av.z * bl2 + av.w * bl3;
    r2 += av.x * br0 + av.y * br1 + av.z * br2 + av.w * br3;
    av = a[(row + 3u) * k4 + kk];
    l3 += av.x * bl0 + av.y * bl1 + av.z * bl2 + av.w * bl3;
    r3 += av.x * br0 + av.y * br1 + av.z * br2 + av.w * br3;
    av = a[(row + 4u) * k4 + kk];
    l4 += av.x * bl0 + av.y * bl1 + av.z * bl2 + av.w * bl3;
    r4 += av.x * br0 + av.y * br1 + av.z * br2 + av.w * br3;
    av = a[(row + 5u) * k4 + kk];
    l5 += av.x * bl0 + av.y * bl1 + av.z * bl2 + av.w * bl3;
    r5 += av.x * br0 + av.y * br1 + av.z * br2 + av.w * br3;
    av = a[(row + 6u) * k4 + kk];
    l6 += av.x * bl0 + av.y * bl1 + av.z * bl2 + av.w * bl3;
    r6 += av.x * br0 + av.y * br1 + av.z * br2 + av.w * br3;
    av = a[(row + 7u) * k4 + kk];
    l7 += av.x * bl0 + av.y * bl1 + av.z * bl2 + av.w * bl3;
    r7 += av.x * br0 + av.y * br1 + av.z * br2 + av.w * br3;
  }

  // 3. Write the 8x8 block: sixteen vec4 stores.
  c[(row + 0u) * n4 + c0] = l0; c[(row + 0u) * n4 + c0 + 1u] = r0;
  c[(row + 1u) * n4 + c0] = l1; c[(row + 1u) * n4 + c0 + 1u] = r1;
  c[(row + 2u) * n4 + c0] = l2; c[(row + 2u) * n4 + c0 + 1u] = r2;
  c[(row + 3u) * n4 + c0] = l3; c[(row + 3u) * n4 + c0 + 1u] = r3;
  c[(row + 4u) * n4 + c0] = l4; c[(row + 4u) * n4 + c0 + 1u] = r4;
  c[(row + 5u) * n4 + c0] = l5; c[(row + 5u) * n4 + c0 + 1u] = r5;
  c[(row + 6u) * n4 + c0] = l6; c[(row + 6u) * n4 + c0 + 1u] = r6;
  c[(row + 7u) * n4 + c0] = l7; c[(row + 7u) * n4 + c0 + 1u] = r7;
}
