// conv2d-winograd-gemm-plain.wgsl: the products of the Winograd convolutions, 16 for F(2x2, 3x3),
// 36 for F(4x4, 3x3) and 81 for F(4x4, 3x3) at stride 2,
//
//   M[xi][k][t] = sum_c U[filterPlane(xi)][k][c] * V[xi][c][t],
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
// The 32 accumulators are named members of a struct (parts/winograd-products-block.wgsl: Products,
// and multiplyAdd, one input channel's 128 multiply-adds written out, shared with the subgroup and
// grid kernels): SwiftShader neither unrolls loops nor keeps private arrays in registers, and with
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
// parts/winograd-filter-plane.wgsl (filterPlane, STRIDED), parts/winograd-products-block.wgsl
// (Products, multiplyAdd) and parts/winograd-products-store.wgsl (storeTiles) follow it.
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
// Override constants: WG (threads per workgroup), PRODUCTS (X: 16, 36 or 81), STRIDED (1 at stride 2), SUM_BLOCK (0: one sum),
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

/**
 * Input channel c's operands: the thread's 4 vec4 groups of U (from uAt + c) and its tiles of V
 * (from vAt), all loaded before any multiply-add (tiles 4 .. 7 only with 8 a thread).
 */
fn operands(c: u32, vAt: u32, uAt: vec4<u32>, tiles: array<u32, 8>) -> Operands {
  var o: Operands;
  o.a0 = u[uAt.x + c]; o.a1 = u[uAt.y + c]; o.a2 = u[uAt.z + c]; o.a3 = u[uAt.w + c];
  o.x0 = v[vAt + tiles[0]]; o.x1 = v[vAt + tiles[1]]; o.x2 = v[vAt + tiles[2]]; o.x3 = v[vAt + tiles[3]];
  if (TILES_PER_THREAD == 8u) {
    o.x4 = v[vAt + tiles[4]]; o.x5 = v[vAt + tiles[5]]; o.x6 = v[vAt + tiles[6]]; o.x7 = v[vAt + tiles[7]];
  }
  return o;
}

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
  let tiles = array(b, tileOf(b, 1u, blocks, T), tileOf(b, 2u, blocks, T), tileOf(b, 3u, blocks, T),
                    tileOf(b, 4u, blocks, T), tileOf(b, 5u, blocks, T), tileOf(b, 6u, blocks, T), tileOf(b, 7u, blocks, T));
  let uAt = (filterPlane(xi) * vec4Groups + vec4<u32>(g0, g1, g2, g3)) * cin;
  // The sums (parts/winograd-products-block.wgsl), over the input channels in blocks of SUM_BLOCK.
  var total = productsAt(0.0);
  var vAt = xi * cin * T;
  if (SUM_BLOCK == 0u) {
    // One sum over all the input channels, straight into total: F(2x2)'s loop exactly as it was
    // before SUM_BLOCK existed, so that its code and speed do not depend on the option. The
    // blocked loop below with one block gives the same bits (130 tap-hash cases), but with a
    // second set of 32 accumulators it ran ResNet18's forward with 'winograd' forced 1.10x slower
    // on lavapipe (bench/ab-trees.mjs --conv-variant winograd: median per-round ratio, faster in
    // 9 of 30 rounds; CPU time 1.22x), so the loop is written twice.
    for (var c = 0u; c < cin; c++) {
      total = multiplyAdd(total, operands(c, vAt, uAt, tiles));
      vAt += T;
    }
  } else {
    // SUM_BLOCK channels at a time into part, each block's sums then added into total.
    for (var c0 = 0u; c0 < cin; c0 += SUM_BLOCK) {
      var part = productsAt(0.0);
      let end = min(cin, c0 + SUM_BLOCK);
      for (var c = c0; c < end; c++) {
        part = multiplyAdd(part, operands(c, vAt, uAt, tiles));
        vAt += T;
      }
      total = addBlock(total, part);
    }
  }
  // The tiles b, b + B, ... that exist (b + kB < T), the groups of the set that exist (1 .. 4).
  storeTiles(total, vec4Groups - g0, xi, g0, b, blocks, min(TILES_PER_THREAD, (T - b + blocks - 1u) / blocks));
}
