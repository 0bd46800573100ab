// The Winograd F(2x2, 3x3) and F(4x4, 3x3) convolutions, and F(4x4, 3x3) at stride 2
// (src/kernels/conv2d-winograd.ts: filter, input, every product and output kernel) against the
// float64 reference, on fresh random data of awkward shapes: batch 2, output sizes that are not
// multiples of the tile (partial tiles), odd input sizes at stride 2, a 1x1 image, channel counts
// that are not multiples of 4 or of the 16-channel step, several tiles of the product both ways,
// and layer4's 512-channel sums.

import { describe, expect, it } from 'vitest';
import { type Conv2dShape, biasAsScaleShift, conv2dOutputSize, packConv2dWeights } from '../src/kernels/conv2d';
import { conv2dVariantRun } from '../src/kernels/conv2d-variants';
import {
  type WinogradProductKernel, type WinogradTile, conv2dWinogradDispatches, winogradFilter, winogradFilterDispatch, winogradFilterLength, winogradGridLanes, plainTilesPerThread, winogradProductKernel, winogradScratchBytes,
} from '../src/kernels/conv2d-winograd';
import type { GpuContext } from '../src/gpu/context';
import { channelAffine, conv2d } from './reference/cpu';
import { download, freshSeed, makeRng, poisoned, randomArray, relativeError, reluCase, testContext, upload } from './helpers/gpu';

// Error measure: max |y - float64| over the size of the terms the outputs are made from (the largest
// |scale_k| * sum |x| |w| of an output; termRelativeError below). Winograd's transforms round in
// proportion to those terms (V entries are sums of up to 4 inputs, U entries of 9 halved weights,
// A^T M A sums 9 products per output), not to the output they add up to: measured against the
// output's own largest magnitude instead, a 2x2 image with one channel (four products that may
// cancel) once came out at 1.04e-5 for F(2x2, 3x3), on a kernel that is right.
//
// F(2x2, 3x3): each of its 16 products sums only Cin terms where a direct convolution sums 9 * Cin
// in one chain; against the output's magnitude it measured below conv2d.wgsl (8.9e-7 against 3.2e-6
// at Cin 512). Against the terms (3 runs of fresh seeds, inputs and weights uniform in [-1, 1)):
// 1.3e-7 at worst. Bound 1e-6, a 7x margin.
//
// F(4x4, 3x3): each output gathers 36 products through transforms with larger coefficients, and
// their rounding grows with them. With the points 0, +-3/2, +-2/3 (conv2d-winograd4-input.wgsl)
// and the plain products summed in blocks of 16 input channels: 3.9e-7 of the terms at worst (4
// runs of fresh seeds, 3 on lavapipe and 1 on SwiftShader), about 3x F(2x2)'s; with Lavin & Gray's
// 0, +-1, +-2 and one sum it was 1.5e-6. Bound 3e-6. An indexing error (O(1)), or a block of input
// channels left out (the cases of 33 input channels: blocks of 16, 16 and 1), fails both.
//
// F(4x4, 3x3) at stride 2: F(4, 2)'s transforms (coefficients up to 8 in A^T, 3 in B^T) on the
// even points, none on the odd; products summed in blocks of 16 as F(4x4)'s. Against the terms, over
// its 10 cases and 4 product kernels (fresh seeds): 3.8e-7 at worst on lavapipe (2 runs), 4.4e-7 on
// SwiftShader (F(4x4) at stride 1 in the first lavapipe run: 8.2e-7). Bound 2e-6, a 4.5x margin.
const TOLERANCE: Record<WinogradTile, number> = { 2: 1e-6, 4: 3e-6 };
const TOLERANCE_STRIDE2 = 2e-6;

const shape = (batch: number, inChannels: number, inHeight: number, inWidth: number, outChannels: number, stride = 1): Conv2dShape =>
  ({ batch, inChannels, inHeight, inWidth, outChannels, kernel: 3, stride, padding: 1 });

/** Elements of s's output. */
const outputCount = (s: Conv2dShape) => s.batch * s.outChannels * conv2dOutputSize(s).reduce((a, b) => a * b);

/** The tile sizes that run s: both at stride 1, F(4x4, 3x3) at stride 2. */
const tilesOf = (s: Conv2dShape): WinogradTile[] => (s.stride === 2 ? [4] : [2, 4]);

/** relu 'both': y before the ReLU and a second output after it (ReluOptions.reluOutput). */
interface Case { name: string; shape: Conv2dShape; relu: boolean | 'both'; affine: boolean }

/**
 * max |y - expected| over the largest |scale_k| * sum |x| |w| of an output: the size of the terms a
 * Winograd output is made from. Its transforms round in proportion to those terms, not to the sum
 * they add up to, so an output whose terms cancel (a 2x2 image with one channel: four products) can
 * carry an error of 1e-5 of its own value where a direct sum would not; against the terms it is as
 * small as anywhere else.
 */
function termRelativeError(y: Float32Array, expected: Float64Array, x: Float32Array, w: Float32Array, scale: ArrayLike<number>, s: Conv2dShape): number {
  const terms = conv2d(x.map(Math.abs), w.map(Math.abs), null, s);
  const plane = conv2dOutputSize(s).reduce((a, b) => a * b);
  let termScale = 0;
  let worst = 0;
  for (let i = 0; i < y.length; i++) {
    termScale = Math.max(termScale, Math.abs(scale[Math.floor(i / plane) % s.outChannels]) * terms[i]);
    worst = Math.max(worst, Math.abs(y[i] - expected[i]));
  }
  return worst / termScale;
}

const cases: Case[] = [
  { name: 'batch 2, 7x9, Cin 3, Cout 5, relu', shape: shape(2, 3, 7, 9, 5), relu: true, affine: true },
  { name: 'batch 2, 13x5, Cin 17, Cout 17, no relu', shape: shape(2, 17, 13, 5, 17), relu: false, affine: false },
  { name: 'batch 2, 1x1 image, Cin 5, Cout 3 (only the centre tap is inside)', shape: shape(2, 5, 1, 1, 3), relu: false, affine: true },
  { name: 'batch 1, 2x2, Cin 1, Cout 1', shape: shape(1, 1, 2, 2, 1), relu: true, affine: false },
  { name: 'batch 2, 17x19 (180 tiles: 3 product tiles), Cin 33, Cout 130 (3 channel tiles), relu', shape: shape(2, 33, 17, 19, 130), relu: true, affine: true },
  { name: 'layer4-like: Cin 512, 7x7, Cout 20', shape: shape(1, 512, 7, 7, 20), relu: false, affine: true },
  { name: 'layer1-like: Cin 64, 14x14, Cout 64, batch 2', shape: shape(2, 64, 14, 14, 64), relu: true, affine: true },
  { name: 'both outputs: batch 2, 11x7, Cin 9, Cout 6', shape: shape(2, 9, 11, 7, 6), relu: 'both', affine: true },
  { name: 'batch 3, 3x3, Cin 20, Cout 36 (F(4x4): 3 tiles, 4 a thread; F(2x2): 12, 8 a thread)', shape: shape(3, 20, 3, 3, 36), relu: true, affine: true },
  { name: 'batch 1, 9x10, Cin 7, Cout 44 (11 groups of 4 channels: the plain products\' last set of 4 groups has 3)', shape: shape(1, 7, 9, 10, 44), relu: true, affine: true },
];

/** F(4x4, 3x3) at stride 2: odd and even input sizes (outputs half, rounded up), partial tiles. */
const stride2Cases: Case[] = [
  { name: 'stride 2, batch 2, 7x9 (4x5 outputs), Cin 3, Cout 5, relu', shape: shape(2, 3, 7, 9, 5, 2), relu: true, affine: true },
  { name: 'stride 2, batch 2, 13x5 (7x3), Cin 17, Cout 17, no relu', shape: shape(2, 17, 13, 5, 17, 2), relu: false, affine: false },
  { name: 'stride 2, batch 2, 1x1 image, Cin 5, Cout 3 (only the centre tap is inside)', shape: shape(2, 5, 1, 1, 3, 2), relu: false, affine: true },
  { name: 'stride 2, batch 1, 2x2 (1x1), Cin 1, Cout 1', shape: shape(1, 1, 2, 2, 1, 2), relu: true, affine: false },
  { name: 'stride 2, batch 2, 33x37 (17x19: 50 tiles), Cin 33, Cout 130, relu', shape: shape(2, 33, 33, 37, 130, 2), relu: true, affine: true },
  { name: 'stride 2, layer4-like: Cin 256, 14x14 (7x7: 4 tiles), Cout 20', shape: shape(1, 256, 14, 14, 20, 2), relu: false, affine: true },
  { name: 'stride 2, layer2-like: Cin 64, 28x28 (14x14), Cout 64', shape: shape(1, 64, 28, 28, 64, 2), relu: true, affine: true },
  { name: 'stride 2, both outputs: batch 2, 11x7, Cin 9, Cout 6', shape: shape(2, 9, 11, 7, 6, 2), relu: 'both', affine: true },
  { name: 'stride 2, batch 3, 6x6 (3x3: 1 tile a map), Cin 20, Cout 36', shape: shape(3, 20, 6, 6, 36, 2), relu: true, affine: true },
  { name: 'stride 2, batch 1, 18x20 (9x10), Cin 7, Cout 44', shape: shape(1, 7, 18, 20, 44, 2), relu: true, affine: true },
];

/**
 * Whether ctx runs the subgroup products (subgroups of one size, 4 or 8 and more lanes); where it
 * cannot, checks that asking for them is refused.
 */
function subgroupTilesRunnable(ctx: GpuContext): boolean {
  const lanes = ctx.fixedSubgroupSize;
  if (lanes !== null && (lanes === 4 || lanes >= 8)) return true;
  expectProductsRefused(ctx, { subgroupTiles: true }, /subgroup/);
  return false;
}

/** Checks that conv2dWinogradDispatches refuses plain products with `opts` on ctx (a 2x2 map). */
function expectProductsRefused(ctx: GpuContext, opts: { subgroupTiles?: boolean; gridLanes?: 2 | 4 | 8 }, message: RegExp): void {
  const s = shape(1, 1, 2, 2, 1);
  const bytes = winogradScratchBytes(s, 2);
  const b = { input: ctx.placeholder, weights: ctx.placeholder, scale: ctx.placeholder, shift: ctx.placeholder, output: ctx.placeholder,
    scratch: poisoned(ctx, bytes.input / 4, 'refusal scratch'), products: poisoned(ctx, bytes.products / 4, 'refusal products') };
  expect(() => conv2dWinogradDispatches(ctx, s, b, { relu: false, product: 'plain', ...opts })).toThrow(message);
}

/**
 * Whether ctx runs the grid products (subgroups of exactly 8 lanes); where it cannot, checks that
 * asking for them is refused.
 */
function gridRunnable(ctx: GpuContext): boolean {
  if (ctx.fixedSubgroupSize === 8) return true;
  expectProductsRefused(ctx, { gridLanes: 2 }, /subgroup|grid/);
  return false;
}

/**
 * Random input, U (winogradFilter of random weights), scale and shift for s, and a poisoned
 * scratch for V: the buffers of a bit-identity test, labelled by `test`.
 */
function winogradBuffers(ctx: GpuContext, s: Conv2dShape, tile: WinogradTile, rng: () => number, test: string) {
  const bytes = winogradScratchBytes(s, tile);
  return {
    input: upload(ctx, randomArray(s.batch * s.inChannels * s.inHeight * s.inWidth, rng), `conv2d-winograd ${test} test input`),
    weights: upload(ctx, winogradFilter(randomArray(s.outChannels * s.inChannels * 9, rng), s, tile), `conv2d-winograd ${test} test filter`),
    scale: upload(ctx, randomArray(s.outChannels, rng, 0.5, 1.5), `conv2d-winograd ${test} test scale`),
    shift: upload(ctx, randomArray(s.outChannels, rng, -0.5, 0.5), `conv2d-winograd ${test} test shift`),
    scratch: poisoned(ctx, bytes.input / 4, `conv2d-winograd ${test} test input scratch`),
  };
}

describe('conv2d-winograd kernels', () => {
  const worst: Record<string, number> = { 2: 0, 4: 0, '4 at stride 2': 0 };
  // 'plain, subgroup': the register products with V shared across subgroups
  // (conv2d-winograd-gemm-subgroup.wgsl), on a device with 'subgroups' of one size (both CPU
  // adapters here; elsewhere the test checks that it is refused).
  // 'plain, grid': the register products with U and V shared across a subgroup of 8 laid out as
  // 2 x 4 lanes (conv2d-winograd-gemm-grid.wgsl; the most shuffles of its layouts), on lavapipe.
  type Products = WinogradProductKernel | 'plain, subgroup' | 'plain, grid';
  const products: Products[] = ['tiled', 'plain', 'plain, subgroup', 'plain, grid'];
  const productOptions = (p: Products) => (p === 'tiled' ? { product: p }
    : p === 'plain, grid' ? { product: 'plain' as const, gridLanes: 2 as const }
      : { product: 'plain' as const, subgroupTiles: p !== 'plain' });
  const tiles: WinogradTile[] = [2, 4];
  const allCases = [...tiles.flatMap((t) => cases.map((c) => [t, c] as const)), ...stride2Cases.map((c) => [4 as const, c] as const)];
  for (const [tile, product, c] of allCases.flatMap(([t, c]) => products.map((p) => [t, p, c] as const))) {
    it(`F(${tile}x${tile}, 3x3) matches the float64 reference (${product} products): ${c.name}`, async () => {
      const ctx = await testContext();
      if (product === 'plain, subgroup' && !subgroupTilesRunnable(ctx)) return;
      if (product === 'plain, grid' && !gridRunnable(ctx)) return;
      const seed = freshSeed();
      const rng = makeRng(seed);
      const s = c.shape;
      const [oh, ow] = conv2dOutputSize(s);
      const x = randomArray(s.batch * s.inChannels * s.inHeight * s.inWidth, rng);
      const w = randomArray(s.outChannels * s.inChannels * 9, rng);
      const { scale, shift } = c.affine
        ? { scale: randomArray(s.outChannels, rng, 0.5, 1.5), shift: randomArray(s.outChannels, rng, -0.5, 0.5) }
        : biasAsScaleShift(s.outChannels, randomArray(s.outChannels, rng, -0.5, 0.5));
      const count = s.batch * s.outChannels * oh * ow;
      const out = poisoned(ctx, count, 'conv2d-winograd test output');
      const relu = reluCase(ctx, c.relu, count, 'conv2d-winograd test');
      const bytes = winogradScratchBytes(s, tile);
      const dispatches = conv2dWinogradDispatches(ctx, s, {
        input: upload(ctx, x, 'conv2d-winograd test input'),
        weights: upload(ctx, winogradFilter(w, s, tile), 'conv2d-winograd test filter'),
        scale: upload(ctx, scale, 'conv2d-winograd test scale'),
        shift: upload(ctx, shift, 'conv2d-winograd test shift'),
        output: out,
        scratch: poisoned(ctx, bytes.input / 4, 'conv2d-winograd test input scratch'),
        products: poisoned(ctx, bytes.products / 4, 'conv2d-winograd test products'),
      }, { ...relu.opts, ...productOptions(product), tile });
      expect(dispatches).toHaveLength(3);
      expect(dispatches[0].pipeline.label).toMatch(s.stride === 2 ? /^conv2d-winograd4s2-input / : tile === 4 ? /^conv2d-winograd4-input / : /^conv2d-winograd-input /);
      expect(dispatches[1].pipeline.label).toMatch({ tiled: /^conv2d-winograd-gemm /, plain: /^conv2d-winograd-gemm-plain /, 'plain, subgroup': /^conv2d-winograd-gemm-subgroup /, 'plain, grid': /^conv2d-winograd-gemm-grid / }[product]);
      ctx.run(dispatches);
      const y = await download(ctx, out, count);
      const expected = channelAffine(conv2d(x, w, null, s), scale, shift, s.batch, s.outChannels, oh * ow, relu.referenceRelu);
      await relu.check(y);
      const e = termRelativeError(y, expected, x, w, scale, s);
      const form = s.stride === 2 ? '4 at stride 2' : `${tile}`;
      worst[form] = Math.max(worst[form], e);
      console.log(`winograd F(${tile}x${tile}) (${product}) ${c.name} (seed ${seed}): ${e.toExponential(2)}, worst so far ${worst[form].toExponential(2)}`);
      expect(e, `seed ${seed}`).toBeLessThanOrEqual(s.stride === 2 ? TOLERANCE_STRIDE2 : TOLERANCE[tile]);
    });
  }

  it('gives the same bits from the register products with V shared across subgroups as without (the same sums in the same order)', async () => {
    const ctx = await testContext();
    if (!subgroupTilesRunnable(ctx)) return;
    const rng = makeRng(freshSeed());
    // Sets of 16 channels from 1 to 13 (a partial last set, idle lanes in a workgroup), tile counts
    // that leave threads fewer than 8 or 4 tiles, and 70 sets (9 one-subgroup runs of sets on lavapipe,
    // the last partial: 300 -> 1100 channels). 4 sets (64 and 60 channels) on 8 lanes take two tile
    // blocks a workgroup: 13 x 11 has 6 blocks of F(2x2) tiles and 2 of F(4x4), both even; 17 x 15
    // 9 and 3, so a last group without its second block; batch 2 at 9 x 9 7 and 3, with a partial
    // last set (15 groups of 4 channels).
    const lanes = ctx.fixedSubgroupSize!;
    for (const s of [shape(1, 7, 9, 10, 44), shape(2, 33, 17, 19, 130), shape(3, 20, 3, 3, 36), shape(1, 16, 7, 7, 12), shape(1, 40, 9, 8, 200), shape(1, 9, 5, 6, 1100),
      shape(1, 12, 13, 11, 64), shape(1, 12, 17, 15, 64), shape(2, 5, 9, 9, 60), shape(2, 33, 33, 37, 130, 2), shape(1, 9, 14, 14, 1100, 2)]) {
      for (const tile of tilesOf(s)) {
        const count = outputCount(s);
        const bytes = winogradScratchBytes(s, tile);
        const buffers = winogradBuffers(ctx, s, tile, rng, 'subgroup');
        const results: Float32Array[] = [];
        for (const subgroupTiles of [false, true]) {
          const name = subgroupTiles ? 'subgroup' : 'plain';
          const output = poisoned(ctx, count, `conv2d-winograd subgroup test output (${name})`);
          const products = poisoned(ctx, bytes.products / 4, `conv2d-winograd subgroup test products (${name})`);
          const dispatches = conv2dWinogradDispatches(ctx, s, { ...buffers, output, products }, { relu: false, product: 'plain', tile, subgroupTiles });
          if (subgroupTiles) {
            // Two blocks a workgroup exactly where the sets fill at most half of 8 or more lanes.
            const twoBlocks = lanes >= 8 && Math.ceil(s.outChannels / 16) * 2 <= lanes;
            expect(dispatches[1].pipeline.label, JSON.stringify(s)).toContain(`BLOCKS_PER_GROUP=${twoBlocks ? 2 : 1}`);
          }
          ctx.run(dispatches);
          results.push(await download(ctx, output, count));
        }
        expect(results[0].some(Number.isNaN), `F(${tile}x${tile}) ${JSON.stringify(s)}`).toBe(false);
        expect(new Uint32Array(results[1].buffer), `F(${tile}x${tile}) ${JSON.stringify(s)}`).toEqual(new Uint32Array(results[0].buffer));
      }
    }
  });

  it('gives the same bits from the grid products, each layout of the lanes, as from the plain products', async () => {
    const ctx = await testContext();
    if (!gridRunnable(ctx)) return;
    const rng = makeRng(freshSeed());
    // Sets of 16 channels from 1 to 70 (partial runs of sets for every layout; 44 and 60 channels a
    // partial last set), tile counts that leave a block of tiles, and a lane's run of them, partly
    // or wholly past T (F(2x2): 30, 180, 12, 16, 20, 70, 12; F(4x4): 9, 50, 3, 4, 6, 20, 3), and
    // 4 tiles a thread (F(4x4) at 7x7 and 3x3).
    const layouts = [2, 4, 8] as const;
    for (const s of [shape(1, 7, 9, 10, 44), shape(2, 33, 17, 19, 130), shape(3, 20, 3, 3, 36), shape(1, 16, 7, 7, 12), shape(1, 40, 9, 8, 200),
      shape(1, 9, 5, 6, 1100), shape(2, 5, 9, 9, 60), shape(2, 33, 33, 37, 130, 2), shape(1, 12, 14, 14, 200, 2)]) {
      for (const tile of tilesOf(s)) {
        const count = outputCount(s);
        const bytes = winogradScratchBytes(s, tile);
        const buffers = winogradBuffers(ctx, s, tile, rng, 'grid');
        const run = async (name: string, opts: { gridLanes: 2 | 4 | 8 | null; storeLoop?: boolean }) => {
          const output = poisoned(ctx, count, `conv2d-winograd grid test output (${name})`);
          const products = poisoned(ctx, bytes.products / 4, `conv2d-winograd grid test products (${name})`);
          const dispatches = conv2dWinogradDispatches(ctx, s, { ...buffers, output, products }, { relu: false, product: 'plain', tile, subgroupTiles: false, ...opts });
          expect(dispatches[1].pipeline.label).toMatch(opts.gridLanes === null ? /^conv2d-winograd-gemm-plain / : new RegExp(`^conv2d-winograd-gemm-grid .*CHANNEL_LANES=${opts.gridLanes}`));
          ctx.run(dispatches);
          return download(ctx, output, count);
        };
        const plain = await run('plain', { gridLanes: null });
        expect(plain.some(Number.isNaN), `F(${tile}x${tile}) ${JSON.stringify(s)}`).toBe(false);
        for (const gridLanes of layouts) {
          const grid = await run(`grid ${gridLanes}`, { gridLanes });
          expect(new Uint32Array(grid.buffer), `F(${tile}x${tile}) ${gridLanes} lanes ${JSON.stringify(s)}`).toEqual(new Uint32Array(plain.buffer));
        }
        // The stores written out (SwiftShader's form) in one layout.
        const written = await run('grid 4, stores written out', { gridLanes: 4, storeLoop: false });
        expect(new Uint32Array(written.buffer), `F(${tile}x${tile}) written out ${JSON.stringify(s)}`).toEqual(new Uint32Array(plain.buffer));
      }
    }
  });

  it('picks the grid layout of the least load cost, and only on lavapipe with subgroups of 8', async () => {
    const ctx = await testContext();
    const lanes = (outChannels: number, tiles: number) => winogradGridLanes(ctx, { outChannels }, tiles);
    if (ctx.adapter.name !== 'lavapipe' || ctx.fixedSubgroupSize !== 8) {
      expect(lanes(512, 16)).toBeNull();
      return;
    }
    // ResNet18 at 224, F(4x4, 3x3) at batch 1: layer1 (64 channels, 196 tiles) 4 x 2, layer2
    // (128, 49) 2 x 4, layer3 (256, 16) 4 x 2, layer4 (512, 4 tiles, 4 a thread) 8 x 1.
    expect([lanes(64, 196), lanes(128, 49), lanes(256, 16), lanes(512, 4)]).toEqual([4, 2, 4, 8]);
  });

  it('gives the same bits from the register products with their stores in a loop and written out (STORE_LOOP)', async () => {
    const ctx = await testContext();
    const rng = makeRng(freshSeed());
    // Tile counts that leave some threads fewer than their 8 or 4 tiles (F(2x2): 25, 180, 12, 16;
    // F(4x4): 9, 50, 3, 4) and channel counts that leave the last set of four groups partly empty
    // (44, 130).
    for (const s of [shape(1, 7, 9, 10, 44), shape(2, 33, 17, 19, 130), shape(3, 20, 3, 3, 36), shape(1, 16, 7, 7, 12), shape(2, 33, 33, 37, 130, 2)]) {
      for (const tile of tilesOf(s)) {
        const count = outputCount(s);
        const bytes = winogradScratchBytes(s, tile);
        const buffers = winogradBuffers(ctx, s, tile, rng, 'store');
        const results: Float32Array[] = [];
        for (const loop of [true, false]) {
          const output = poisoned(ctx, count, `conv2d-winograd store test output (${loop ? 'loop' : 'written out'})`);
          const products = poisoned(ctx, bytes.products / 4, `conv2d-winograd store test products (${loop ? 'loop' : 'written out'})`);
          ctx.run(conv2dWinogradDispatches(ctx, s, { ...buffers, output, products }, { relu: true, product: 'plain', tile, storeLoop: loop, subgroupTiles: false, gridLanes: null }));
          results.push(await download(ctx, output, count));
        }
        expect(results[0].some(Number.isNaN), `F(${tile}x${tile}) ${JSON.stringify(s)}`).toBe(false);
        expect(new Uint32Array(results[1].buffer), `F(${tile}x${tile}) ${JSON.stringify(s)}`).toEqual(new Uint32Array(results[0].buffer));
      }
    }
  });

  for (const [tile, stride] of [[2, 1], [4, 1], [4, 2]] as const) {
    it(`makes the same F(${tile}x${tile}, 3x3) U at stride ${stride} on the GPU from the packed filter as winogradFilter on the CPU`, async () => {
      const ctx = await testContext();
      const seed = freshSeed();
      const s = shape(1, 7, 1, 1, 10, stride);
      const w = randomArray(s.outChannels * s.inChannels * 9, makeRng(seed));
      const length = winogradFilterLength(s, tile);
      // 16 or 36 planes of U at stride 1, 36 at stride 2 (81 products).
      expect(length).toBe((tile + 2) ** 2 * 12 * 7);
      const out = poisoned(ctx, length, 'conv2d-winograd filter test output');
      ctx.run([winogradFilterDispatch(ctx, s, { weights: upload(ctx, packConv2dWeights(w, s), 'conv2d-winograd filter test packed'), output: out }, tile)]);
      const got = await download(ctx, out, length);
      // Padded channels (10, 11) are 0 on both; the rest differ by float32 rounding of a few additions.
      expect(relativeError(got, winogradFilter(w, s, tile)), `seed ${seed}`).toBeLessThanOrEqual(1e-6);
    });
  }

  it('runs its products in registers on CPU adapters and where compatibility mode hides the adapter, tiled on a GPU', async () => {
    const ctx = await testContext();
    const base = { ...ctx.adapter, isFallbackAdapter: false, featureLevel: 'core' as const };
    expect([1, 4, 5, 8, 9].map(plainTilesPerThread)).toEqual([4, 4, 8, 8, 8]);
    expect(winogradProductKernel({ ...base, name: 'lavapipe' })).toBe('plain');
    expect(winogradProductKernel({ ...base, name: 'swiftshader' })).toBe('plain');
    expect(winogradProductKernel({ ...base, name: 'nvidia hopper', vendor: 'nvidia', description: 'NVIDIA H200' })).toBe('tiled');
    expect(winogradProductKernel({ ...base, name: 'unknown', featureLevel: 'compatibility', vendor: '', description: '' })).toBe('plain');
    expect(winogradProductKernel({ ...base, name: 'qualcomm', featureLevel: 'compatibility', vendor: 'qualcomm', description: 'Adreno' })).toBe('tiled');
  });

  it('runs 3x3 padding-1 convolutions of stride 1 (F(4x4, 3x3): 1 or 2) only, and refuses others in one line', async () => {
    expect(conv2dVariantRun('winograd', { kernel: 3, stride: 1, padding: 1 })).toBe('winograd');
    expect(conv2dVariantRun('winograd', { kernel: 3, stride: 2, padding: 1 })).toBe('direct');
    expect(conv2dVariantRun('winograd', { kernel: 1, stride: 1, padding: 0 })).toBe('direct');
    expect(conv2dVariantRun('winograd', { kernel: 3, stride: 1, padding: 0 })).toBe('direct');
    expect(conv2dVariantRun('winograd', { kernel: 3, stride: 1, padding: 1, groups: 32 })).toBe('grouped');
    expect(conv2dVariantRun('winograd', { kernel: 3, stride: 1, padding: 1 }, 'f16')).toBe('direct');
    expect(conv2dVariantRun('winograd4', { kernel: 3, stride: 1, padding: 1 })).toBe('winograd4');
    expect(conv2dVariantRun('winograd4', { kernel: 3, stride: 2, padding: 1 })).toBe('winograd4');
    expect(conv2dVariantRun('winograd4', { kernel: 3, stride: 2, padding: 0 })).toBe('direct');
    expect(conv2dVariantRun('winograd4', { kernel: 3, stride: 3, padding: 1 })).toBe('direct');
    expect(conv2dVariantRun('winograd4', { kernel: 3, stride: 2, padding: 1, groups: 32 })).toBe('grouped');
    expect(conv2dVariantRun('winograd4', { kernel: 3, stride: 2, padding: 1 }, 'f16')).toBe('direct');
    expect(conv2dVariantRun('winograd4', { kernel: 3, stride: 1, padding: 1, groups: 32 })).toBe('grouped');
    // The mix: F(4x4) from 4 tiles of it a map (4 x 4 outputs each) where it needs fewer products
    // than F(2x2) (36 a tile against 16), F(2x2) otherwise, whatever the batch; other shapes as 'winograd'.
    const at = (batch: number, inHeight: number, inWidth: number) => ({ kernel: 3, stride: 1, padding: 1, batch, inHeight, inWidth });
    expect(conv2dVariantRun('winograd-mixed', at(1, 7, 7))).toBe('winograd4'); // 2 x 2 tiles: 144 products against 256
    expect(conv2dVariantRun('winograd-mixed', at(1, 9, 13))).toBe('winograd4'); // 3 x 4 = 12
    expect(conv2dVariantRun('winograd-mixed', at(1, 14, 14))).toBe('winograd4');
    expect(conv2dVariantRun('winograd-mixed', at(1, 3, 3))).toBe('winograd'); // 1 tile
    expect(conv2dVariantRun('winograd-mixed', at(1, 4, 12))).toBe('winograd'); // 3 tiles
    expect(conv2dVariantRun('winograd-mixed', at(1, 4, 13))).toBe('winograd4'); // 4: 144 products against 224
    // An image's kernel, and so its taps, never depend on the batch it runs in.
    for (const [h, w] of [[1, 1], [2, 2], [3, 3], [4, 12], [4, 13], [5, 6], [7, 7], [14, 14], [56, 56]]) {
      const kernels = [1, 2, 3, 4, 8, 64].map((n) => conv2dVariantRun('winograd-mixed', at(n, h, w)));
      expect(new Set(kernels).size, `${h}x${w}`).toBe(1);
    }
    expect(conv2dVariantRun('winograd-mixed', at(8, 2, 2))).toBe('winograd'); // 1 tile a map: 36 products against 16
    expect(conv2dVariantRun('winograd-mixed', at(64, 1, 1))).toBe('winograd');
    expect(conv2dVariantRun('winograd-mixed', at(8, 5, 6))).toBe('winograd'); // 144 products an image either way
    expect(conv2dVariantRun('winograd-mixed', at(8, 3, 3))).toBe('winograd'); // 1 tile a map, whatever the batch
    // The 3x3 stride-2 padding-1 ones: F(4x4, 3x3)'s stride-2 form where winogradStride2 is on (the
    // default of a call that names the variant for this shape), 'direct' where it is off.
    for (const v of ['winograd4', 'winograd-mixed'] as const) {
      expect(conv2dVariantRun(v, { ...at(1, 56, 56), stride: 2 }), v).toBe('winograd4');
      expect(conv2dVariantRun(v, { ...at(1, 1, 1), stride: 2 }), v).toBe('winograd4');
      expect(conv2dVariantRun(v, { ...at(1, 56, 56), stride: 2 }, 'f32', false), v).toBe('direct');
      expect(conv2dVariantRun(v, { ...at(1, 56, 56), stride: 2 }, 'f32', true), v).toBe('winograd4');
    }
    expect(conv2dVariantRun('winograd', { ...at(1, 56, 56), stride: 2 }, 'f32', true)).toBe('direct');
    expect(conv2dVariantRun('winograd-mixed', { ...at(1, 56, 56), stride: 2, groups: 32 })).toBe('grouped');
    expect(conv2dVariantRun('winograd-mixed', { ...at(1, 56, 56), stride: 2 }, 'f16')).toBe('direct');
    expect(conv2dVariantRun('winograd-mixed', { ...at(1, 56, 56), groups: 32 })).toBe('grouped');
    expect(conv2dVariantRun('winograd-mixed', at(1, 56, 56), 'f16')).toBe('direct');
    expect(() => conv2dVariantRun('winograd-mixed', { kernel: 3, stride: 1, padding: 1 })).toThrow(/map size/);
    const ctx = await testContext();
    const buf = (n: number) => upload(ctx, new Float32Array(n), 'conv2d-winograd refusal buffer');
    const s = { ...shape(1, 4, 4, 4, 4), stride: 2 };
    expect(() => conv2dWinogradDispatches(ctx, s, { input: buf(64), weights: buf(256), scale: buf(4), shift: buf(4), output: buf(16) }, { relu: false }))
      .toThrow(/needs kernel 3, stride 1, padding 1, got k3 s2 p1$/);
    expect(() => conv2dWinogradDispatches(ctx, shape(1, 4, 4, 4, 4), {
      input: buf(64), weights: buf(256), scale: buf(4), shift: buf(4), output: buf(64), scratch: buf(4), products: buf(256),
    }, { relu: false })).toThrow(/transformed input needs a scratch buffer of 1024 bytes$/);
    expect(() => conv2dWinogradDispatches(ctx, { ...s, stride: 3 }, { input: buf(64), weights: buf(576), scale: buf(4), shift: buf(4), output: buf(16) }, { relu: false, tile: 4 }))
      .toThrow(/Winograd F\(4x4, 3x3\) needs kernel 3, stride 1 or 2, padding 1, got k3 s3 p1$/);
    // At stride 2: 81 products of Cin 4 and one tile (2x2 outputs).
    expect(() => conv2dWinogradDispatches(ctx, s, {
      input: buf(64), weights: buf(576), scale: buf(4), shift: buf(4), output: buf(16), scratch: buf(4), products: buf(324),
    }, { relu: false, tile: 4 })).toThrow(/transformed input needs a scratch buffer of 1296 bytes$/);
    expect(() => conv2dWinogradDispatches(ctx, shape(1, 4, 4, 4, 4), {
      input: buf(64), weights: buf(576), scale: buf(4), shift: buf(4), output: buf(64), scratch: buf(4), products: buf(576),
    }, { relu: false, tile: 4 })).toThrow(/transformed input needs a scratch buffer of 576 bytes$/);
  });
});
