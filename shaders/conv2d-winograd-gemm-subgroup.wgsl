// conv2d-winograd-gemm-subgroup.wgsl: the products of the Winograd convolutions as
// conv2d-winograd-gemm-plain.wgsl computes them (16 output channels x 8 tiles per thread in
// registers, the same sums in the same order: the same bits), with the lanes of a subgroup sharing
// their tiles and loading V once for all of them.
//
// Why: on lavapipe (Mesa 25) a storage load whose index is not a compile-time constant runs as a
// loop over the SIMD lanes, a bounds check and a branch per lane; the plain kernel's 8 loads of V
// per input channel cost more than its 4 vec4 loads of U (a probe with V not loaded ran ResNet18's
// products 1.4-1.6x faster, with U not loaded 1.1-1.2x). Here the lanes of a workgroup take the
// same product xi and tile block and different sets of 16 output channels: per input channel each
// lane loads its own U as before, but V of only one tile (two on subgroups of 4 lanes), and takes
// the block's 8 tiles from the lanes that loaded them by subgroupBroadcast (a vector element
// broadcast on lavapipe). A convolution with at most half as many sets as lanes (64 output channels
// on 8 lanes) gives a workgroup two tile blocks instead (BLOCKS_PER_GROUP = 2): half the lanes on
// each, every lane loading one tile of each block, so that no lane computes a set twice.
//
// Params (binding 0) is declared in src/kernels/conv2d-winograd.ts, which packs it and emits the struct before this file;
// parts/winograd-products-store.wgsl (storeTiles) follows it.
// Bindings (group 0), layouts, SUM_BLOCK, TILES_PER_THREAD, STORE_LOOP: as conv2d-winograd-gemm-plain.wgsl.
// Override constants: also TILE_LOADS (1, or 2 on subgroups of 4 lanes) and BLOCKS_PER_GROUP (1, or 2
// with TILE_LOADS 1); src/kernels/conv2d-winograd.ts sets them from the device's subgroup size, which
// must not vary (subgroupMinSize = subgroupMaxSize), and the convolution's sets.
// Dispatch: PRODUCTS * BG * R workgroups of WG threads, WG the subgroup size (B = ceil(T /
// TILES_PER_THREAD) tile blocks in BG = ceil(B / BLOCKS_PER_GROUP) groups of blocks; N = WG /
// BLOCKS_PER_GROUP sets per block and workgroup, R = ceil(S4 / N) runs of them over the
// S4 = ceil(G4 / 4) channel sets), workgroup w = (xi * BG + bg) * R + run; thread lid works on block
// b = bg * BLOCKS_PER_GROUP + lid / N, set run * N + lid % N, and tiles b, b+B, ..., b+7B.
// Invariants:
//   - the group's blocks, and so every tile a lane loads for its subgroup, are the same across the
//     workgroup, and a lane takes a tile only from the load of its own block: a broadcast never hands
//     a lane the tile of another block;
//   - no thread leaves before the loop over the input channels (threads past the last set or block
//     compute the last again and store nothing; a workgroup past the end leaves whole), so every lane
//     a broadcast reads is active and the loop's bounds are uniform;
//   - every element of m is written by exactly one thread; tiles past T are not read or written.
enable subgroups;

override WG: u32 = 64u;
override PRODUCTS: u32 = 16u;
/** Input channels per partial sum (0: one sum over all of them). */
override SUM_BLOCK: u32 = 0u;
/** Tiles per thread: 8, or 4 (tiles t4 .. t7 absent). */
override TILES_PER_THREAD: u32 = 8u;
/** The stores in a loop over the tiles (true) or written out per tile (false: SwiftShader's form). */
override STORE_LOOP: bool = true;
/** Loads of V per lane and input channel: 1 (subgroups of 8 lanes or more), or 2 (subgroups of 4). */
override TILE_LOADS: u32 = 1u;
/** Tile blocks per workgroup: 1, or 2 (half the lanes on each; with TILE_LOADS 1 only). */
override BLOCKS_PER_GROUP: u32 = 1u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> u: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> v: array<f32>;
@group(0) @binding(3) var<storage, read_write> m: array<f32>;

/** Tile k of block b (k-th of b, b+B, b+2B, ...), or b itself where that is past T. */
fn tileOf(b: u32, k: u32, blocks: u32, T: u32) -> u32 {
  return select(b, b + k * blocks, b + k * blocks < T);
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) groups: vec3u, @builtin(local_invocation_index) lid: u32,
        @builtin(subgroup_invocation_id) lane: u32, @builtin(subgroup_size) subgroupSize: u32) {
  let cin = params.inChannels;
  let cout = params.outChannels;
  let T = params.tiles;
  let vec4Groups = (cout + 3u) / 4u;
  let sets = (vec4Groups + 3u) / 4u;
  let blocks = (T + TILES_PER_THREAD - 1u) / TILES_PER_THREAD;
  // 1. The workgroup's product xi, group of tile blocks bg and run of channel sets; past the end,
  //    the whole workgroup leaves.
  let setsPerBlock = WG / BLOCKS_PER_GROUP;
  let setRuns = (sets + setsPerBlock - 1u) / setsPerBlock;
  let blockGroups = (blocks + BLOCKS_PER_GROUP - 1u) / BLOCKS_PER_GROUP;
  let w = wid.x + wid.y * groups.x;
  if (w >= PRODUCTS * blockGroups * setRuns) { return; }
  let run = w % setRuns;
  let b0 = ((w / setRuns) % blockGroups) * BLOCKS_PER_GROUP;
  let xi = w / (setRuns * blockGroups);
  // 2. The thread's tile block (the group's first, or its second: fromSecond) and set of 16 output
  //    channels (past the last block or set: the last again, computed, not stored).
  let fromSecond = BLOCKS_PER_GROUP == 2u && lid >= setsPerBlock;
  let b = min(b0 + lid / setsPerBlock, blocks - 1u);
  let channelSet = min(run * setsPerBlock + lid % setsPerBlock, sets - 1u);
  let live = run * setsPerBlock + lid % setsPerBlock < sets && b0 + lid / setsPerBlock < blocks;
  let g0 = 4u * channelSet;
  // Missing groups (a group count not a multiple of 4) read the last one again and are not stored.
  let g1 = min(g0 + 1u, vec4Groups - 1u);
  let g2 = min(g0 + 2u, vec4Groups - 1u);
  let g3 = min(g0 + 3u, vec4Groups - 1u);
  // 3. The tiles this lane loads for the whole subgroup: tile k of the (first) block is loaded by
  //    lane k % S (S = subgroup size) as its load k / S; with two blocks, tile k of the second is
  //    lane k's second load.
  let mine0 = tileOf(b0, min(lane, TILES_PER_THREAD - 1u), blocks, T);
  let mine1 = select(tileOf(b0, min(lane + subgroupSize, TILES_PER_THREAD - 1u), blocks, T),
                     tileOf(min(b0 + 1u, blocks - 1u), min(lane, TILES_PER_THREAD - 1u), blocks, T), BLOCKS_PER_GROUP == 2u);
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
      let y0 = v[vAt + mine0]; var y1 = 0.0; if (TILE_LOADS == 2u || BLOCKS_PER_GROUP == 2u) { y1 = v[vAt + mine1]; }
      let x0 = select(subgroupBroadcast(y0, 0u), subgroupBroadcast(y1, 0u), fromSecond);
      let x1 = select(subgroupBroadcast(y0, 1u), subgroupBroadcast(y1, 1u), fromSecond);
      let x2 = select(subgroupBroadcast(y0, 2u), subgroupBroadcast(y1, 2u), fromSecond);
      let x3 = select(subgroupBroadcast(y0, 3u), subgroupBroadcast(y1, 3u), fromSecond);
      P0 += a0 * x0; Q0 += a1 * x0; R0 += a2 * x0; S0 += a3 * x0;
      P1 += a0 * x1; Q1 += a1 * x1; R1 += a2 * x1; S1 += a3 * x1;
      P2 += a0 * x2; Q2 += a1 * x2; R2 += a2 * x2; S2 += a3 * x2;
      P3 += a0 * x3; Q3 += a1 * x3; R3 += a2 * x3; S3 += a3 * x3;
      if (TILES_PER_THREAD == 8u) {
        // Tiles 4 .. 7: from lanes 4 .. 7, or from lanes 0 .. 3's second load on subgroups of 4.
        let x4 = select(select(subgroupBroadcast(y0, 4u), subgroupBroadcast(y1, 4u), fromSecond), subgroupBroadcast(y1, 0u), TILE_LOADS == 2u);
        let x5 = select(select(subgroupBroadcast(y0, 5u), subgroupBroadcast(y1, 5u), fromSecond), subgroupBroadcast(y1, 1u), TILE_LOADS == 2u);
        let x6 = select(select(subgroupBroadcast(y0, 6u), subgroupBroadcast(y1, 6u), fromSecond), subgroupBroadcast(y1, 2u), TILE_LOADS == 2u);
        let x7 = select(select(subgroupBroadcast(y0, 7u), subgroupBroadcast(y1, 7u), fromSecond), subgroupBroadcast(y1, 3u), TILE_LOADS == 2u);
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
        let y0 = v[vAt + mine0]; var y1 = 0.0; if (TILE_LOADS == 2u || BLOCKS_PER_GROUP == 2u) { y1 = v[vAt + mine1]; }
        let x0 = select(subgroupBroadcast(y0, 0u), subgroupBroadcast(y1, 0u), fromSecond);
        let x1 = select(subgroupBroadcast(y0, 1u), subgroupBroadcast(y1, 1u), fromSecond);
        let x2 = select(subgroupBroadcast(y0, 2u), subgroupBroadcast(y1, 2u), fromSecond);
        let x3 = select(subgroupBroadcast(y0, 3u), subgroupBroadcast(y1, 3u), fromSecond);
        p0 += a0 * x0; q0 += a1 * x0; r0 += a2 * x0; s0 += a3 * x0;
        p1 += a0 * x1; q1 += a1 * x1; r1 += a2 * x1; s1 += a3 * x1;
        p2 += a0 * x2; q2 += a1 * x2; r2 += a2 * x2; s2 += a3 * x2;
        p3 += a0 * x3; q3 += a1 * x3; r3 += a2 * x3; s3 += a3 * x3;
        if (TILES_PER_THREAD == 8u) {
          // Tiles 4 .. 7: from lanes 4 .. 7, or from lanes 0 .. 3's second load on subgroups of 4.
          let x4 = select(select(subgroupBroadcast(y0, 4u), subgroupBroadcast(y1, 4u), fromSecond), subgroupBroadcast(y1, 0u), TILE_LOADS == 2u);
          let x5 = select(select(subgroupBroadcast(y0, 5u), subgroupBroadcast(y1, 5u), fromSecond), subgroupBroadcast(y1, 1u), TILE_LOADS == 2u);
          let x6 = select(select(subgroupBroadcast(y0, 6u), subgroupBroadcast(y1, 6u), fromSecond), subgroupBroadcast(y1, 2u), TILE_LOADS == 2u);
          let x7 = select(select(subgroupBroadcast(y0, 7u), subgroupBroadcast(y1, 7u), fromSecond), subgroupBroadcast(y1, 3u), TILE_LOADS == 2u);
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
  // 5. The stores, by the threads whose set exists.
  if (!live) { return; }
  // The tiles b, b + B, ... that exist (b + kB < T), the groups of the set that exist (1 .. 4).
  storeTiles(array(P0, P1, P2, P3, P4, P5, P6, P7), array(Q0, Q1, Q2, Q3, Q4, Q5, Q6, Q7),
             array(R0, R1, R2, R3, R4, R5, R6, R7), array(S0, S1, S2, S3, S4, S5, S6, S7),
             vec4Groups - g0, xi, g0, b, blocks, min(TILES_PER_THREAD, (T - b + blocks - 1u) / blocks));
}
