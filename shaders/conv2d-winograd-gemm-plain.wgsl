// conv2d-winograd-gemm-plain.wgsl: the products of the Winograd convolutions, 16 for F(2x2, 3x3)
// and 36 for F(4x4, 3x3),
//
//   M[xi][k][t] = sum_c U[xi][k][c] * V[xi][c][t],
//
// as conv2d-winograd-gemm.wgsl computes them, without workgroup memory or barriers: each thread
// keeps 16 output channels (four vec4 of U) x 8 tiles (or 4: TILES_PER_THREAD) in registers over
// the whole sum, 128 vec4 multiply-adds per 4 vec4 and 8 scalar loads. The form CPU adapters want
// (on lavapipe a barrier costs a switch of every thread of the workgroup; the caches serve the
// reuse that workgroup memory would); src/kernels/conv2d-winograd.ts picks it there.
// Why 16 x 8: on both CPU adapters a storage load costs about as much per invocation whatever its
// form (uniform or per lane, scalar or vec4: ~0.75 ns scalar, ~1.7 ns vec4 on lavapipe, 2 cores),
// several multiply-adds' worth, so the block is sized for multiply-adds per load. ResNet18's F(2x2)
// products at 224, 16 x 8 against 8 x 8 on lavapipe (one dispatch each, medians of 7): 7.6 against
// 8.7 ms (64 channels, 784 tiles), 5.6 / 9.2 (128, 196), 7.6 / 11.3 (256, 49), 9.0 / 10.1 (512, 16);
// SwiftShader the same within its noise (300 against 304 ms over the 8 shapes of both tile sizes).
// Reading V as vec4 of 4 tiles (a padded layout) gained another 4% on lavapipe only; 16 x 16 spilled
// on SwiftShader (1.4x slower); 4 x 4 per thread ran 1.5-5x slower on lavapipe.
// The 32 accumulators and 8 tile indices are named variables and the loop over the 8 tiles is
// written out: SwiftShader neither unrolls loops nor keeps private arrays in registers, and with
// `array<vec4<f32>, 16>` and an inner loop the 8 x 8 form ran 4x slower there (ResNet18's layer1
// products at 224: 100 ms against 25); lavapipe compiles both forms alike.
// Same bindings and layouts as conv2d-winograd-gemm.wgsl, and the same sum in the same order
// (c = 0, 1, ...), unless SUM_BLOCK is set: then each block of SUM_BLOCK input channels is summed
// on its own and the blocks' sums added up. F(4x4, 3x3) sets it to 16 (src/kernels/conv2d-winograd.ts):
// its output transform weights the 36 products by up to 27 x 27, so the rounding of one long
// float32 sum over the input channels was most of its error (scripts/winograd-points.mjs, a
// 256-channel layer: 3.3e-7 of the output's scale RMS and 1.8e-6 at worst with one sum, 1.6e-7 and
// 8.3e-7 in blocks of 16; a direct sum: 1.7e-7 and 1.1e-6). It costs F(4x4)'s forward about 5% on
// lavapipe and 9% on SwiftShader (one process, interleaved).
//
// Params (binding 0) is declared in src/kernels/conv2d-winograd.ts, which packs it and emits the struct before this file;
// parts/winograd-products-store.wgsl (storeTiles) follows it.
// Bindings (group 0):
//   0 params : uniform Params
//   1 u      : storage read,  array<vec4<f32>>  [X, ceil(Cout/4), Cin] (element (xi*G4 + g)*Cin + c)
//   2 v      : storage read,  array<f32>        [X, Cin, T]
//   3 m      : storage write, array<f32>        [X, Cout, T]
// Tiles per thread (TILES_PER_THREAD): 8, or 4 where a convolution has at most 4 tiles (a 7x7 map
// at batch 1 in F(4x4, 3x3)): with 8, half of every thread's work would be padding. Tiles 4 .. 7
// are then neither loaded nor accumulated nor stored; each tile's sums are the same either way. On
// ResNet18's layer4 at batch 1 (512 channels, 4 tiles) F(4x4)'s products took 11.7 ms with 4 a
// thread against 18.4 with 8 on lavapipe (F(2x2)'s 16 tiles: 14.5), and 30 against 63 on
// SwiftShader (F(2x2): 47).
// Override constants: WG (threads per workgroup), PRODUCTS (X: 16 or 36), SUM_BLOCK (0: one sum),
// TILES_PER_THREAD (8 or 4), STORE_LOOP (the stores' form, the same values).
// Dispatch: grid1d(X * S * B, WG) with S = ceil(G4/4) sets of four channel groups, B =
// ceil(T/TILES_PER_THREAD) tile blocks; thread flat = (xi*S + s)*B + b owns groups 4s .. 4s+3 and
// tiles b, b+B, ..., b+7B (b+3B with 4 a thread; consecutive threads read consecutive elements of V).
// Invariants: every element of m is written by exactly one thread; tiles past T are not read or written.

override WG: u32 = 64u;
override PRODUCTS: u32 = 16u;
/** Input channels per partial sum (0: one sum over all of them). */
override SUM_BLOCK: u32 = 0u;
/** Tiles per thread: 8, or 4 (tiles t4 .. t7 absent). */
override TILES_PER_THREAD: u32 = 8u;
/** The stores in a loop over the tiles (true) or written out per tile (false: SwiftShader's form). */
override STORE_LOOP: bool = true;

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
  let sets = (vec4Groups + 3u) / 4u;
  let blocks = (T + TILES_PER_THREAD - 1u) / TILES_PER_THREAD;
  if (flat >= PRODUCTS * sets * blocks) { return; }
  let b = flat % blocks;
  let row = flat / blocks;          // xi*sets + set
  let xi = row / sets;
  let g0 = 4u * (row % sets);
  // Missing groups (a group count not a multiple of 4) read the last one again and are not stored.
  let g1 = min(g0 + 1u, vec4Groups - 1u);
  let g2 = min(g0 + 2u, vec4Groups - 1u);
  let g3 = min(g0 + 3u, vec4Groups - 1u);
  // Tiles past T read tile b instead (always present) and are not stored.
  let t0 = b;
  let t1 = select(b, b + blocks, b + blocks < T);
  let t2 = select(b, b + 2u * blocks, b + 2u * blocks < T);
  let t3 = select(b, b + 3u * blocks, b + 3u * blocks < T);
  let t4 = select(b, b + 4u * blocks, b + 4u * blocks < T);
  let t5 = select(b, b + 5u * blocks, b + 5u * blocks < T);
  let t6 = select(b, b + 6u * blocks, b + 6u * blocks < T);
  let t7 = select(b, b + 7u * blocks, b + 7u * blocks < T);
  // P_j, Q_j, R_j, S_j: channels 4*g0 .. +3, 4*g0+4 .. +7, 4*g0+8 .. +11, 4*g0+12 .. +15 of tile
  // t_j, summed over the input channels (in blocks of SUM_BLOCK: p_j .. s_j are one block's sums).
  var P0 = vec4<f32>(0.0); var P1 = vec4<f32>(0.0); var P2 = vec4<f32>(0.0); var P3 = vec4<f32>(0.0);
  var P4 = vec4<f32>(0.0); var P5 = vec4<f32>(0.0); var P6 = vec4<f32>(0.0); var P7 = vec4<f32>(0.0);
  var Q0 = vec4<f32>(0.0); var Q1 = vec4<f32>(0.0); var Q2 = vec4<f32>(0.0); var Q3 = vec4<f32>(0.0);
  var Q4 = vec4<f32>(0.0); var Q5 = vec4<f32>(0.0); var Q6 = vec4<f32>(0.0); var Q7 = vec4<f32>(0.0);
  var R0 = vec4<f32>(0.0); var R1 = vec4<f32>(0.0); var R2 = vec4<f32>(0.0); var R3 = vec4<f32>(0.0);
  var R4 = vec4<f32>(0.0); var R5 = vec4<f32>(0.0); var R6 = vec4<f32>(0.0); var R7 = vec4<f32>(0.0);
  var S0 = vec4<f32>(0.0); var S1 = vec4<f32>(0.0); var S2 = vec4<f32>(0.0); var S3 = vec4<f32>(0.0);
  var S4 = vec4<f32>(0.0); var S5 = vec4<f32>(0.0); var S6 = vec4<f32>(0.0); var S7 = vec4<f32>(0.0);
  let u0 = (xi * vec4Groups + g0) * cin;
  let u1 = (xi * vec4Groups + g1) * cin;
  let u2 = (xi * vec4Groups + g2) * cin;
  let u3 = (xi * vec4Groups + g3) * cin;
  var vAt = xi * cin * T;
  if (SUM_BLOCK == 0u) {
    // One sum over all the input channels, straight into P .. S: F(2x2)'s loop exactly as it was
    // before SUM_BLOCK existed, so that its code and speed do not depend on the option. The
    // blocked loop below with one block gives the same bits (130 tap-hash cases), but with a
    // second set of 32 accumulators it ran ResNet18's forward with 'winograd' forced 1.10x slower
    // on lavapipe (bench/ab-trees.mjs --conv-variant winograd: median per-round ratio, faster in
    // 9 of 30 rounds; CPU time 1.22x), so the loop is written twice.
    for (var c = 0u; c < cin; c++) {
      let a0 = u[u0 + c]; let a1 = u[u1 + c]; let a2 = u[u2 + c]; let a3 = u[u3 + c];
      let x0 = v[vAt + t0]; let x1 = v[vAt + t1]; let x2 = v[vAt + t2]; let x3 = v[vAt + t3];
      P0 += a0 * x0; Q0 += a1 * x0; R0 += a2 * x0; S0 += a3 * x0;
      P1 += a0 * x1; Q1 += a1 * x1; R1 += a2 * x1; S1 += a3 * x1;
      P2 += a0 * x2; Q2 += a1 * x2; R2 += a2 * x2; S2 += a3 * x2;
      P3 += a0 * x3; Q3 += a1 * x3; R3 += a2 * x3; S3 += a3 * x3;
      if (TILES_PER_THREAD == 8u) {
        let x4 = v[vAt + t4]; let x5 = v[vAt + t5]; let x6 = v[vAt + t6]; let x7 = v[vAt + t7];
        P4 += a0 * x4; Q4 += a1 * x4; R4 += a2 * x4; S4 += a3 * x4;
        P5 += a0 * x5; Q5 += a1 * x5; R5 += a2 * x5; S5 += a3 * x5;
        P6 += a0 * x6; Q6 += a1 * x6; R6 += a2 * x6; S6 += a3 * x6;
        P7 += a0 * x7; Q7 += a1 * x7; R7 += a2 * x7; S7 += a3 * x7;
      }
      vAt += T;
    }
  } else {
    // SUM_BLOCK channels at a time into p .. s, each block's sums then added into P .. S.
    for (var c0 = 0u; c0 < cin; c0 += SUM_BLOCK) {
      var p0 = vec4<f32>(0.0); var p1 = vec4<f32>(0.0); var p2 = vec4<f32>(0.0); var p3 = vec4<f32>(0.0);
      var p4 = vec4<f32>(0.0); var p5 = vec4<f32>(0.0); var p6 = vec4<f32>(0.0); var p7 = vec4<f32>(0.0);
      var q0 = vec4<f32>(0.0); var q1 = vec4<f32>(0.0); var q2 = vec4<f32>(0.0); var q3 = vec4<f32>(0.0);
      var q4 = vec4<f32>(0.0); var q5 = vec4<f32>(0.0); var q6 = vec4<f32>(0.0); var q7 = vec4<f32>(0.0);
      var r0 = vec4<f32>(0.0); var r1 = vec4<f32>(0.0); var r2 = vec4<f32>(0.0); var r3 = vec4<f32>(0.0);
      var r4 = vec4<f32>(0.0); var r5 = vec4<f32>(0.0); var r6 = vec4<f32>(0.0); var r7 = vec4<f32>(0.0);
      var s0 = vec4<f32>(0.0); var s1 = vec4<f32>(0.0); var s2 = vec4<f32>(0.0); var s3 = vec4<f32>(0.0);
      var s4 = vec4<f32>(0.0); var s5 = vec4<f32>(0.0); var s6 = vec4<f32>(0.0); var s7 = vec4<f32>(0.0);
      let end = min(cin, c0 + SUM_BLOCK);
      for (var c = c0; c < end; c++) {
        let a0 = u[u0 + c]; let a1 = u[u1 + c]; let a2 = u[u2 + c]; let a3 = u[u3 + c];
        let x0 = v[vAt + t0]; let x1 = v[vAt + t1]; let x2 = v[vAt + t2]; let x3 = v[vAt + t3];
        p0 += a0 * x0; q0 += a1 * x0; r0 += a2 * x0; s0 += a3 * x0;
        p1 += a0 * x1; q1 += a1 * x1; r1 += a2 * x1; s1 += a3 * x1;
        p2 += a0 * x2; q2 += a1 * x2; r2 += a2 * x2; s2 += a3 * x2;
        p3 += a0 * x3; q3 += a1 * x3; r3 += a2 * x3; s3 += a3 * x3;
        if (TILES_PER_THREAD == 8u) {
          let x4 = v[vAt + t4]; let x5 = v[vAt + t5]; let x6 = v[vAt + t6]; let x7 = v[vAt + t7];
          p4 += a0 * x4; q4 += a1 * x4; r4 += a2 * x4; s4 += a3 * x4;
          p5 += a0 * x5; q5 += a1 * x5; r5 += a2 * x5; s5 += a3 * x5;
          p6 += a0 * x6; q6 += a1 * x6; r6 += a2 * x6; s6 += a3 * x6;
          p7 += a0 * x7; q7 += a1 * x7; r7 += a2 * x7; s7 += a3 * x7;
        }
        vAt += T;
      }
      P0 += p0; P1 += p1; P2 += p2; P3 += p3; P4 += p4; P5 += p5; P6 += p6; P7 += p7;
      Q0 += q0; Q1 += q1; Q2 += q2; Q3 += q3; Q4 += q4; Q5 += q5; Q6 += q6; Q7 += q7;
      R0 += r0; R1 += r1; R2 += r2; R3 += r3; R4 += r4; R5 += r5; R6 += r6; R7 += r7;
      S0 += s0; S1 += s1; S2 += s2; S3 += s3; S4 += s4; S5 += s5; S6 += s6; S7 += s7;
    }
  }
  // The tiles b, b + B, ... that exist (b + kB < T), the groups of the set that exist (1 .. 4).
  storeTiles(array(P0, P1, P2, P3, P4, P5, P6, P7), array(Q0, Q1, Q2, Q3, Q4, Q5, Q6, Q7),
             array(R0, R1, R2, R3, R4, R5, R6, R7), array(S0, S1, S2, S3, S4, S5, S6, S7),
             vec4Groups - g0, xi, g0, b, blocks, min(TILES_PER_THREAD, (T - b + blocks - 1u) / blocks));
}
