// matmul-4x4: C = A * B, dense float32, row-major, every thread computing a 4x4 block of C in
// registers. The benchmark's ceiling: the best dense GFLOP/s our own WGSL reaches on an adapter,
// against which the whole forward's effective GFLOP/s is expressed. Not used by the engine.
//
// Bindings (group 0):
//   0  a      array<vec4<f32>>  A, M x K row-major: a[(row * K + k) / 4] holds A[row][k..k+3]
//   1  b      array<vec4<f32>>  B, K x N row-major: b[(k * N + col) / 4] holds B[k][col..col+3]
//   2  c      array<vec4<f32>>  C, M x N row-major, written whole
//   3  dims   uniform {M, N, K}
// Invariants: M, N, K are multiples of 4 (the bench uses powers of two); buffers are exactly sized.
//
// Dispatch: workgroup (WG_X, WG_Y); grid (ceil(N / (4 * WG_X)), ceil(M / (4 * WG_Y))). Thread
// (x, y) owns rows 4y..4y+3 and columns 4x..4x+3 of C.
//
// Why this shape: on the CPU adapters (SwiftShader, lavapipe) a workgroup runs as SIMD lanes of one
// core; shared-memory tiling adds barriers that cost more than the loads it saves, while 16
// accumulators in registers and vec4 loads give 16 multiply-adds per 8 loads. 16x16 shared-memory
// tiles were slower than the naive kernel there (../shared/README.md).

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
  // 1. This thread's block: columns col..col+3 (one vec4 of C per row), rows row..row+3.
  let col4 = gid.x;              // index of the vec4 column block
  let row = gid.y * 4u;
  let n4 = dims.N / 4u;          // vec4s per row of B and C
  let k4 = dims.K / 4u;          // vec4s per row of A
  if (col4 >= n4 || row >= dims.M) {
    return;
  }

  var acc0 = vec4<f32>(0.0);
  var acc1 = vec4<f32>(0.0);
  var acc2 = vec4<f32>(0.0);
  var acc3 = vec4<f32>(0.0);

  // 2. Walk K four at a time: one vec4 of each of the four A rows, four vec4 rows of B.
  for (var kk = 0u; kk < k4; kk++) {
    let a0 = a[(row + 0u) * k4 + kk];
    let a1 = a[(row + 1u) * k4 + kk];
    let a2 = a[(row + 2u) * k4 + kk];
    let a3 = a[(row + 3u) * k4 + kk];
    let kb = kk * 4u;
    let b0 = b[(kb + 0u) * n4 + col4];
    let b1 = b[(kb + 1u) * n4 + col4];
    let b2 = b[(kb + 2u) * n4 + col4];
    let b3 = b[(kb + 3u) * n4 + col4];
    // 3. 16 multiply-adds per vec4 lane: acc_r += A[r][k+j] * B[k+j][col..col+3].
    acc0 += a0.x * b0 + a0.y * b1 + a0.z * b2 + a0.w * b3;
    acc1 += a1.x * b0 + a1.y * b1 + a1.z * b2 + a1.w * b3;
    acc2 += a2.x * b0 + a2.y * b1 + a2.z * b2 + a2.w * b3;
    acc3 += a3.x * b0 + a3.y * b1 + a3.z * b2 + a3.w * b3;
  }

  // 4. Write the 4x4 block: four vec4 stores.
  c[(row + 0u) * n4 + col4] = acc0;
  c[(row + 1u) * n4 + col4] = acc1;
  c[(row + 2u) * n4 + col4] = acc2;
  c[(row + 3u) * n4 + col4] = acc3;
}
