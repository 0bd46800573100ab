// conv2d-winograd-gemm-grid.wgsl: the products of the Winograd convolutions as
// conv2d-winograd-gemm-plain.wgsl computes them (16 output channels x 8 tiles per thread in
// registers, the same sums in the same order: the same bits), with the lanes of a subgroup laid
// out as a grid, CHANNEL_LANES sets of 16 output channels by WG / CHANNEL_LANES runs of tiles, and
// every value a lane needs from U and V loaded once for the subgroup and handed round by
// subgroupShuffle.
//
// Why: on lavapipe (Mesa 25) a storage load whose index is not a compile-time constant runs as a
// loop over the SIMD lanes. conv2d-winograd-gemm-subgroup.wgsl shares V only: each lane still loads the 4 vec4 of U of its
// own 16 channels, and a subgroup of 8 lanes loads 32 vec4 of U and 8 scalars of V per input
// channel for 128 x 8 products. Here a subgroup of 8 lanes as 2 x 4 takes 32 channels x 32 tiles:
// 8 vec4 of U (one a lane) and 32 scalars of V (four a lane) for the same 1,024 products; as
// 4 x 2, 64 channels x 16 tiles, 16 vec4 and 16 scalars. A shuffle is one vector permute there.
// What then costs most is the accumulators: lavapipe keeps a variable that a loop updates in memory
// and writes it through the loop's lane mask (a load, the add, a blend and a store per update, in
// its JIT code), so with PAIRED a pass of the loop takes two input channels and updates each
// accumulator once (the README's "The Winograd products as a grid of lanes" has the measurements).
// src/kernels/conv2d-winograd.ts (winogradGridLanes) picks the layout per convolution from its
// channel sets and tiles.
//
// Params (binding 0) is declared in src/kernels/conv2d-winograd.ts, which packs it and emits the
// struct before this file; parts/winograd-filter-plane.wgsl (filterPlane), parts/winograd-products-block.wgsl (Products, Operands,
// multiplyAdd) and parts/winograd-products-store.wgsl (storeTiles) follow it.
// Bindings (group 0), layouts, PRODUCTS, TILES_PER_THREAD, STORE_LOOP: as
// conv2d-winograd-gemm-plain.wgsl. SUM_BLOCK: as there, 0 being one block of all the input
// channels (its sums then start from -0.0, which adds nothing to any float, -0.0 included, so one
// block gives the plain kernel's one sum bit for bit).
// Override constants: also WG, which must equal the subgroup size (src/kernels/conv2d-winograd.ts
// asks for a device whose subgroup size does not vary), CHANNEL_LANES (2, 4 or 8: lanes across
// the channel sets; WG / CHANNEL_LANES across the tiles), with 4 * CHANNEL_LANES a multiple of WG,
// and PAIRED; U_LOADS and V_LOADS follow from them (the caller leaves them).
// Dispatch: PRODUCTS * TB * R workgroups of WG threads (TB = ceil(T / (TILES_PER_THREAD * WG /
// CHANNEL_LANES)) blocks of tiles, R = ceil(S4 / CHANNEL_LANES) runs of the S4 = ceil(G4 / 4)
// channel sets), workgroup w = (xi * TB + tb) * R + run. Lane l works on set run * CHANNEL_LANES +
// l % CHANNEL_LANES and tiles tb * blockTiles + (l / CHANNEL_LANES) * TILES_PER_THREAD + k.
// Invariants:
//   - no lane leaves before the loop over the input channels (sets and tiles past the last are
//     loaded clamped to the last, computed and not stored; a workgroup past the end leaves whole),
//     so every lane a shuffle reads is active and the loop's bounds are uniform;
//   - lane l loads vec4 groups run * 4 * CHANNEL_LANES + l * U_LOADS + j (j < U_LOADS) and tiles
//     tb * blockTiles + l * V_LOADS + j (j < V_LOADS): the group i of a lane's set, and its tile k,
//     are the load i % U_LOADS (k % V_LOADS) of one lane, a compile-time choice;
//   - every element of m is written by exactly one lane; tiles past T are not written.
enable subgroups;

override WG: u32 = 8u;
override PRODUCTS: u32 = 16u;
/** Input channels per partial sum (0: one sum over all of them). */
override SUM_BLOCK: u32 = 0u;
/** Tiles per thread: 8, or 4 (tiles 4 .. 7 absent). */
override TILES_PER_THREAD: u32 = 8u;
/** The stores in a loop over the tiles (true) or written out per tile (false). */
override STORE_LOOP: bool = true;
/** Lanes across the channel sets: 2, 4 or 8. */
override CHANNEL_LANES: u32 = 2u;
/** Two input channels a pass of the loop (see there), or one. */
override PAIRED: bool = true;
/** Vec4 groups of U (1, 2 or 4) and tiles of V (1, 2 or 4) each lane loads per input channel. */
override U_LOADS: u32 = 4u * CHANNEL_LANES / WG;
override V_LOADS: u32 = max(1u, TILES_PER_THREAD / CHANNEL_LANES);

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> u: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> v: array<f32>;
@group(0) @binding(3) var<storage, read_write> m: array<f32>;

/** Where a lane loads its share of U and V, and which lanes hold what it needs (main's step 3). */
struct Addresses {
  u: vec4<u32>, v: vec4<u32>, uFrom: vec4<u32>, vFromLow: vec4<u32>, vFromHigh: vec4<u32>,
}

/**
 * Input channel c's operands (V of the channel from vAt): the lane's loads (the conditions are
 * override constants, so unused loads compile away), then group i of its set from load i % U_LOADS
 * of lane uFrom_i and tile k from load k % V_LOADS of lane vFrom_k. Called in uniform control flow.
 */
fn operands(c: u32, vAt: u32, at: Addresses) -> Operands {
  let l0 = u[at.u.x + c];
  var l1 = l0; if (U_LOADS >= 2u) { l1 = u[at.u.y + c]; }
  var l2 = l0; var l3 = l0; if (U_LOADS == 4u) { l2 = u[at.u.z + c]; l3 = u[at.u.w + c]; }
  let y0 = v[vAt + at.v.x];
  var y1 = y0; if (V_LOADS >= 2u) { y1 = v[vAt + at.v.y]; }
  var y2 = y0; var y3 = y0; if (V_LOADS == 4u) { y2 = v[vAt + at.v.z]; y3 = v[vAt + at.v.w]; }
  let uOdd = select(l0, select(l1, l3, U_LOADS == 4u), U_LOADS >= 2u);   // load 3 % U_LOADS (group 3)
  let vOdd = select(y0, y1, V_LOADS >= 2u);                                 // load k % V_LOADS, k = 1, 5
  let vThird = select(y0, select(y1, y3, V_LOADS == 4u), V_LOADS >= 2u); // load k % V_LOADS, k = 3, 7
  var o: Operands;
  o.a0 = subgroupShuffle(l0, at.uFrom.x);
  o.a1 = subgroupShuffle(select(l0, l1, U_LOADS >= 2u), at.uFrom.y);
  o.a2 = subgroupShuffle(select(l0, l2, U_LOADS == 4u), at.uFrom.z);
  o.a3 = subgroupShuffle(uOdd, at.uFrom.w);
  o.x0 = subgroupShuffle(y0, at.vFromLow.x);
  o.x1 = subgroupShuffle(vOdd, at.vFromLow.y);
  o.x2 = subgroupShuffle(select(y0, y2, V_LOADS == 4u), at.vFromLow.z);
  o.x3 = subgroupShuffle(vThird, at.vFromLow.w);
  if (TILES_PER_THREAD == 8u) {
    o.x4 = subgroupShuffle(y0, at.vFromHigh.x);
    o.x5 = subgroupShuffle(vOdd, at.vFromHigh.y);
    o.x6 = subgroupShuffle(select(y0, y2, V_LOADS == 4u), at.vFromHigh.z);
    o.x7 = subgroupShuffle(vThird, at.vFromHigh.w);
  }
  return o;
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) groups: vec3u,
        @builtin(subgroup_invocation_id) lane: u32) {
  let cin = params.inChannels;
  let cout = params.outChannels;
  let T = params.tiles;
  let vec4Groups = (cout + 3u) / 4u;
  let sets = (vec4Groups + 3u) / 4u;
  let blockTiles = TILES_PER_THREAD * (WG / CHANNEL_LANES);
  // 1. The workgroup's product xi, block of tiles tb and run of sets; past the end it leaves whole.
  let tileBlocks = (T + blockTiles - 1u) / blockTiles;
  let setRuns = (sets + CHANNEL_LANES - 1u) / CHANNEL_LANES;
  let w = wid.x + wid.y * groups.x;
  if (w >= PRODUCTS * tileBlocks * setRuns) { return; }
  let run = w % setRuns;
  let tb = (w / setRuns) % tileBlocks;
  let xi = w / (setRuns * tileBlocks);
  // 2. The lane's place in the grid: its set of 16 output channels and its first tile.
  let row = lane % CHANNEL_LANES;
  let column = lane / CHANNEL_LANES;
  let channelSet = run * CHANNEL_LANES + row;
  let g0 = 4u * channelSet;
  let firstTile = tb * blockTiles + column * TILES_PER_THREAD;
  // 3. What the lane loads for the subgroup: vec4 groups (clamped to the last) and tiles (clamped
  //    to the block's last and to T - 1); and the lanes holding group i of this lane's set (its
  //    load i % U_LOADS) and its tile k (load k % V_LOADS).
  let groupBase = run * 4u * CHANNEL_LANES + lane * U_LOADS;
  let lastGroup = vec4<u32>(vec4Groups - 1u);
  let tileBase = tb * blockTiles;
  let firstLoad = vec4<u32>(lane * V_LOADS) + vec4<u32>(0u, 1u, 2u, 3u);
  let vFirst = column * TILES_PER_THREAD;
  var at: Addresses;
  at.u = (filterPlane(xi) * vec4Groups + min(vec4<u32>(groupBase) + vec4<u32>(0u, 1u, 2u, 3u), lastGroup)) * cin;
  at.v = min(tileBase + min(firstLoad, vec4<u32>(blockTiles - 1u)), vec4<u32>(T - 1u));
  at.uFrom = (vec4<u32>(4u * row) + vec4<u32>(0u, 1u, 2u, 3u)) / U_LOADS;
  at.vFromLow = (vec4<u32>(vFirst) + vec4<u32>(0u, 1u, 2u, 3u)) / V_LOADS;
  at.vFromHigh = (vec4<u32>(vFirst) + vec4<u32>(4u, 5u, 6u, 7u)) / V_LOADS;
  // The sums (parts/winograd-products-block.wgsl), over the input channels in blocks. total starts
  // from 0.0 as in the plain kernel, or with one block from -0.0, so that -0.0 + part is part bit
  // for bit.
  var total = productsAt(select(0.0, -0.0, SUM_BLOCK == 0u));
  let block = select(SUM_BLOCK, cin, SUM_BLOCK == 0u);
  var vAt = xi * cin * T;
  for (var c0 = 0u; c0 < cin; c0 += block) {
    var part = productsAt(0.0);
    let end = min(cin, c0 + block);
    // With PAIRED, two input channels a pass: each sum is updated once per pass, as
    // ((p + a x) + a' x'), the order of two passes of one channel, so the same bits. lavapipe stores
    // every variable a loop updates through the loop's lane mask (a blend, and a spill slot's load
    // and store); a pass of two channels halves those. Then one channel a pass: the rest.
    var c = c0;
    for (; PAIRED && c + 1u < end; c += 2u) {
      let o = operands(c, vAt, at);
      let n = operands(c + 1u, vAt + T, at);
      part = multiplyAdd(multiplyAdd(part, o), n);
      vAt += 2u * T;
    }
    for (; c < end; c++) {
      part = multiplyAdd(part, operands(c, vAt, at));
      vAt += T;
    }
    total = addBlock(total, part);
  }
  // 4. The stores, by the lanes whose set exists, for the tiles that exist.
  if (channelSet >= sets || firstTile >= T) { return; }
  storeTiles(total, vec4Groups - g0, xi, g0, firstTile, 1u, min(TILES_PER_THREAD, T - firstTile));
}
