// gemm-tile.wgsl: the workgroup-memory tile product that conv2d-gemm.wgsl and
// conv2d-winograd-gemm.wgsl share. A workgroup of 256 threads (tx, ty) = (i % 16, i / 16) owns a
// tile of 64 output channels x 64 columns; per step of 16 reduction rows the kernel stages A's
// 16 x 64 slice in tileA (vec4 [row * 16 + channel group]) and B's in tileB ([row * 64 + column]),
// then each thread adds 4 channels (group ty) x 4 columns (tx, tx+16, tx+32, tx+48) of the step
// to its 4 accumulators.

const TILE: u32 = 64u;
const STEP: u32 = 16u;

var<workgroup> tileA: array<vec4<f32>, 256>;   // [STEP][16 channel groups]
var<workgroup> tileB: array<f32, 1024>;        // [STEP][TILE columns]

/** The staged step's products added to the accumulators of thread (tx, ty); call between barriers. */
fn accumulateStep(tx: u32, ty: u32, acc0: ptr<function, vec4<f32>>, acc1: ptr<function, vec4<f32>>,
    acc2: ptr<function, vec4<f32>>, acc3: ptr<function, vec4<f32>>) {
  for (var k = 0u; k < STEP; k++) {
    let a = tileA[k * 16u + ty];
    let b = k * TILE + tx;
    *acc0 += a * tileB[b];
    *acc1 += a * tileB[b + 16u];
    *acc2 += a * tileB[b + 32u];
    *acc3 += a * tileB[b + 48u];
  }
}
