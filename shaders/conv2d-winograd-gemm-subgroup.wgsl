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
// parts/winograd-filter-plane.wgsl (filterPlane), parts/winograd-products-block.wgsl (Products, Operands,
// multiplyAdd) and parts/winograd-products-store.wgsl (storeTiles) follow it.
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

/**
 * Input channel c's operands: the thread's own 4 vec4 groups of U (from uAt + c), and its tiles of V
 * (from vAt) from the lanes that loaded them: this lane loads tiles mine0 and (with TILE_LOADS 2
 * or two blocks) mine1; tile k comes from lane k's first load (with two blocks, its second for the
 * threads of the second block: fromSecond), or on subgroups of 4 tiles 4 .. 7 from lanes 0 .. 3's
 * second load. Called in uniform control flow.
 */
fn operands(c: u32, vAt: u32, uAt: vec4<u32>, mine0: u32, mine1: u32, fromSecond: bool) -> Operands {
  var o: Operands;
  o.a0 = u[uAt.x + c]; o.a1 = u[uAt.y + c]; o.a2 = u[uAt.z + c]; o.a3 = u[uAt.w + c];
  let y0 = v[vAt + mine0]; var y1 = 0.0; if (TILE_LOADS == 2u || BLOCKS_PER_GROUP == 2u) { y1 = v[vAt + mine1]; }
  o.x0 = select(subgroupBroadcast(y0, 0u), subgroupBroadcast(y1, 0u), fromSecond);
  o.x1 = select(subgroupBroadcast(y0, 1u), subgroupBroadcast(y1, 1u), fromSecond);
  o.x2 = select(subgroupBroadcast(y0, 2u), subgroupBroadcast(y1, 2u), fromSecond);
  o.x3 = select(subgroupBroadcast(y0, 3u), subgroupBroadcast(y1, 3u), fromSecond);
  if (TILES_PER_THREAD == 8u) {
    o.x4 = select(select(subgroupBroadcast(y0, 4u), subgroupBroadcast(y1, 4u), fromSecond), subgroupBroadcast(y1, 0u), TILE_LOADS == 2u);
    o.x5 = select(select(subgroupBroadcast(y0, 5u), subgroupBroadcast(y1, 5u), fromSecond), subgroupBroadcast(y1, 1u), TILE_LOADS == 2u);
    o.x6 = select(select(subgroupBroadcast(y0, 6u), subgroupBroadcast(y1, 6u), fromSecond), subgroupBroadcast(y1, 2u), TILE_LOADS == 2u);
    o.x7 = select(select(subgroupBroadcast(y0, 7u), subgroupBroadcast(y1, 7u), fromSecond), subgroupBroadcast(y1, 3u), TILE_LOADS == 2u);
  }
  return o;
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
  let uAt = (filterPlane(xi) * vec4Groups + vec4<u32>(g0, g1, g2, g3)) * cin;
  // 4. The sums (parts/winograd-products-block.wgsl), over the input channels in blocks of SUM_BLOCK.
  var total = productsAt(0.0);
  var vAt = xi * cin * T;
  if (SUM_BLOCK == 0u) {
    // One sum over all the input channels, straight into total, as conv2d-winograd-gemm-plain.wgsl
    // (which says why the loop is written twice).
    for (var c = 0u; c < cin; c++) {
      total = multiplyAdd(total, operands(c, vAt, uAt, mine0, mine1, fromSecond));
      vAt += T;
    }
  } else {
    // SUM_BLOCK channels at a time into part, each block's sums then added into total.
    for (var c0 = 0u; c0 < cin; c0 += SUM_BLOCK) {
      var part = productsAt(0.0);
      let end = min(cin, c0 + SUM_BLOCK);
      for (var c = c0; c < end; c++) {
        part = multiplyAdd(part, operands(c, vAt, uAt, mine0, mine1, fromSecond));
        vAt += T;
      }
      total = addBlock(total, part);
    }
  }
  // 5. The stores, by the threads whose set exists.
  if (!live) { return; }
  // The tiles b, b + B, ... that exist (b + kB < T), the groups of the set that exist (1 .. 4).
  storeTiles(total, vec4Groups - g0, xi, g0, b, blocks, min(TILES_PER_THREAD, (T - b + blocks - 1u) / blocks));
}
