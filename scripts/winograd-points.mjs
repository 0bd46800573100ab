// Why F(4x4, 3x3) interpolates at 0, +-3/2, +-2/3 (shaders/conv2d-winograd4-*.wgsl): builds the
// Winograd matrices A^T, G, B^T of F(4x4, 3x3) from any five finite points (plus infinity) in exact
// rational arithmetic, scales them as the shaders do (A^T and B^T to integers, G takes the
// fractions), runs a 3x3 convolution layer through them in float32 (every operation rounded, as
// the kernels round) and measures the error against the exact float64 convolution.
//
//   node scripts/winograd-points.mjs            # the search (0 and 4 points of CANDIDATES) and the chosen set
//   node scripts/winograd-points.mjs --quick    # only Lavin & Gray's points, the chosen ones (one sum over
//                                                # the input channels, and blocks of 32 and 16), F(2x2, 3x3), direct
//
// The layer: ReLU'd standard-normal inputs, He-initialised weights (normal, variance 2/(9 Cin)),
// 8 output channels, padding so that every tile is whole. The error is max and RMS of |y - exact|
// over max |exact|. The products are summed over the input channels in one float32 chain, as the
// product kernels do. Plain JavaScript, no dependencies: Math.fround after every operation.

const quick = process.argv.includes('--quick');

// ---- exact rationals (BigInt) ----
const babs = (a) => (a < 0n ? -a : a);
const gcd = (a, b) => { a = babs(a); b = babs(b); while (b) [a, b] = [b, a % b]; return a; };
function q(n, d = 1n) {
  n = BigInt(n); d = BigInt(d);
  if (d < 0n) { n = -n; d = -d; }
  const g = gcd(n, d) || 1n;
  return { n: n / g, d: d / g };
}
const add = (a, b) => q(a.n * b.d + b.n * a.d, a.d * b.d);
const sub = (a, b) => q(a.n * b.d - b.n * a.d, a.d * b.d);
const mul = (a, b) => q(a.n * b.n, a.d * b.d);
const div = (a, b) => q(a.n * b.d, a.d * b.n);
const pow = (a, k) => { let r = q(1); for (let i = 0; i < k; i++) r = mul(r, a); return r; };
const toNumber = (a) => Number(a.n) / Number(a.d);
const show = (a) => (a.d === 1n ? `${a.n}` : `${a.n}/${a.d}`);
const lcm = (a, b) => (a / gcd(a, b)) * b;

/** Polynomial product, coefficients in increasing powers. */
function polyMul(a, b) {
  const r = Array.from({ length: a.length + b.length - 1 }, () => q(0));
  a.forEach((x, i) => b.forEach((y, j) => { r[i + j] = add(r[i + j], mul(x, y)); }));
  return r;
}

/**
 * Toom-Cook F(m, r) at `points` (n - 1 = m + r - 2 finite ones) and infinity:
 * y = A^T [(G g) . (B^T d)] computes y_i = sum_k d_{i+k} g_k (a convolution layer's correlation).
 */
function winogradMatrices(points, m = 4, r = 3) {
  const n = m + r - 1;
  const p = points.map((x) => (typeof x === 'object' ? x : q(x)));
  if (p.length !== n - 1) throw new Error(`F(${m}, ${r}) needs ${n - 1} finite points`);
  const AT = Array.from({ length: m }, (_, i) => [...p.map((pj) => pow(pj, i)), q(i === m - 1 ? 1 : 0)]);
  const G = p.map((pj, j) => {
    let N = q(1);
    p.forEach((pl, l) => { if (l !== j) N = mul(N, sub(pj, pl)); });
    return Array.from({ length: r }, (_, k) => div(pow(pj, k), N));
  });
  G.push(Array.from({ length: r }, (_, k) => q(k === r - 1 ? 1 : 0)));
  let M = [q(1)];
  for (const pl of p) M = polyMul(M, [q(-pl.n, pl.d), q(1)]);
  const BT = p.map((_, j) => {
    let Mj = [q(1)];
    p.forEach((pl, l) => { if (l !== j) Mj = polyMul(Mj, [q(-pl.n, pl.d), q(1)]); });
    return [...Mj, q(0)];
  });
  BT.push(M);
  // The shaders' scaling: column j of A^T and row j of B^T times the least integer that clears
  // their denominators, row j of G divided by both.
  for (let j = 0; j < n; j++) {
    const c = AT.reduce((l, row) => lcm(l, row[j].d), 1n);
    const b = BT[j].reduce((l, x) => lcm(l, x.d), 1n);
    AT.forEach((row) => { row[j] = mul(row[j], q(c)); });
    BT[j] = BT[j].map((x) => mul(x, q(b)));
    G[j] = G[j].map((x) => div(x, q(c * b)));
  }
  return { AT, G, BT, n, m };
}

// ---- float32 simulation ----
const f = Math.fround;
function rng(seed) {
  let s = seed >>> 0;
  const next = () => { s = (s + 0x6d2b79f5) >>> 0; let t = s; t = Math.imul(t ^ (t >>> 15), t | 1); t ^= t + Math.imul(t ^ (t >>> 7), t | 61); return ((t ^ (t >>> 14)) >>> 0) / 4294967296; };
  return () => Math.sqrt(-2 * Math.log(1 - next())) * Math.cos(2 * Math.PI * next());
}

/** T (rows x k) times X (k x cols), both arrays of rows, every product and sum rounded to float32. */
function mm32(T, X) {
  return T.map((row) => X[0].map((_, c) => row.reduce((acc, t, k) => (t === 0 ? acc : f(acc + f(t * X[k][c]))), 0)));
}
const transpose = (X) => X[0].map((_, c) => X.map((row) => row[c]));

/** A layer's inputs, weights and exact (float64) outputs, made once per size and seed. */
const layers = new Map();
function layer(cin, cout, H, seed) {
  const key = `${cin} ${cout} ${H} ${seed}`;
  if (layers.has(key)) return layers.get(key);
  const normal = rng(seed);
  const x = Array.from({ length: cin }, () => Array.from({ length: H + 2 }, () => Array.from({ length: H + 2 }, () => f(Math.max(0, normal())))));
  const scale = Math.sqrt(2 / (9 * cin));
  const w = Array.from({ length: cout }, () => Array.from({ length: cin }, () => Array.from({ length: 3 }, () => Array.from({ length: 3 }, () => f(normal() * scale)))));
  const exact = w.map((wo) => Array.from({ length: H }, (_, y) => Array.from({ length: H }, (_, xx) => {
    let sum = 0;
    for (let c = 0; c < cin; c++) for (let ky = 0; ky < 3; ky++) for (let kx = 0; kx < 3; kx++) sum += wo[c][ky][kx] * x[c][y + ky][xx + kx];
    return sum;
  })));
  const made = { x, w, exact };
  layers.set(key, made);
  return made;
}

/** Max and RMS of |got - exact| over max |exact|, accumulated output by output. */
function errorTally() {
  let worst = 0;
  let squares = 0;
  let largest = 0;
  let count = 0;
  return {
    add(got, exact) {
      worst = Math.max(worst, Math.abs(got - exact));
      squares += (got - exact) ** 2;
      largest = Math.max(largest, Math.abs(exact));
      count++;
    },
    result: () => ({ max: worst / largest, rms: Math.sqrt(squares / count) / largest }),
  };
}

function layerError(mats, { cin = 64, cout = 8, tiles = 6, seed = 1, block = 0 } = {}) {
  const { AT, G, BT, n, m } = mats;
  const A32 = AT.map((r) => r.map((x) => f(toNumber(x))));
  const G32 = G.map((r) => r.map((x) => f(toNumber(x))));
  const B32 = BT.map((r) => r.map((x) => f(toNumber(x))));
  const H = tiles * m;
  const { x, w, exact: exactOut } = layer(cin, cout, H, seed);
  const U = w.map((wo) => wo.map((g) => mm32(mm32(G32, g), transpose(G32))));
  const tally = errorTally();
  for (let ty = 0; ty < tiles; ty++) {
    for (let tx = 0; tx < tiles; tx++) {
      const V = x.map((plane) => {
        const d = Array.from({ length: n }, (_, i) => plane[ty * m + i].slice(tx * m, tx * m + n));
        return mm32(mm32(B32, d), transpose(B32));
      });
      for (let o = 0; o < cout; o++) {
        // One float32 sum over the input channels, or (block > 0) one per block of channels, the
        // blocks' sums then added (conv2d-winograd-gemm-plain.wgsl's SUM_BLOCK).
        const Mo = Array.from({ length: n }, () => new Array(n).fill(0));
        const step = block || cin;
        for (let c0 = 0; c0 < cin; c0 += step) {
          const part = Array.from({ length: n }, () => new Array(n).fill(0));
          for (let c = c0; c < Math.min(cin, c0 + step); c++) for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) part[i][j] = f(part[i][j] + f(U[o][c][i][j] * V[c][i][j]));
          for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) Mo[i][j] = f(Mo[i][j] + part[i][j]);
        }
        const Y = mm32(mm32(A32, Mo), transpose(A32));
        for (let i = 0; i < m; i++) {
          for (let j = 0; j < m; j++) {
            const exact = exactOut[o][ty * m + i][tx * m + j];
            tally.add(Y[i][j], exact);
          }
        }
      }
    }
  }
  return tally.result();
}

/** The same layer as a direct convolution: one float32 chain over (c, ky, kx) per output, as conv2d.wgsl sums. */
function directError({ cin = 64, cout = 8, tiles = 6, seed = 1 }, m) {
  const H = tiles * m;
  const { x, w, exact } = layer(cin, cout, H, seed);
  const tally = errorTally();
  for (let o = 0; o < cout; o++) {
    for (let y = 0; y < H; y++) {
      for (let xx = 0; xx < H; xx++) {
        let sum = 0;
        for (let c = 0; c < cin; c++) for (let ky = 0; ky < 3; ky++) for (let kx = 0; kx < 3; kx++) sum = f(sum + f(w[o][c][ky][kx] * x[c][y + ky][xx + kx]));
        tally.add(sum, exact[o][y][xx]);
      }
    }
  }
  return tally.result();
}

/** Several runs' errors as one: the worst max, the RMS of the RMS errors. */
const combine = (r) => ({ max: Math.max(...r.map((e) => e.max)), rms: Math.sqrt(r.reduce((a, e) => a + e.rms ** 2, 0) / r.length) });
const measure = (mats, runs) => combine(runs.map((opts) => layerError(mats, opts)));
const fmt = (e) => `max ${e.max.toExponential(2)}, rms ${e.rms.toExponential(2)}`;
const name = (pts) => pts.map((p) => (typeof p === 'object' ? show(p) : `${p}`)).join(', ');

const LAVIN = [0, 1, -1, 2, -2];
const CHOSEN = [0, q(3, 2), q(-3, 2), q(2, 3), q(-2, 3)];
const CANDIDATES = [1, -1, 2, -2, 3, -3, 4, -4, q(1, 2), q(-1, 2), q(1, 3), q(-1, 3), q(1, 4), q(-1, 4), q(3, 2), q(-3, 2), q(2, 3), q(-2, 3)];

if (!quick) {
  // The search: small layers (12 x 12, two seeds), ranked by RMS error.
  const small = [{ cin: 64, tiles: 3, seed: 1 }, { cin: 64, tiles: 3, seed: 2 }];
  const ranked = [];
  const k = CANDIDATES.length;
  for (let a = 0; a < k; a++) for (let b = a + 1; b < k; b++) for (let c = b + 1; c < k; c++) for (let d = c + 1; d < k; d++) {
    const pts = [0, CANDIDATES[a], CANDIDATES[b], CANDIDATES[c], CANDIDATES[d]];
    ranked.push({ pts, ...measure(winogradMatrices(pts), small) });
  }
  ranked.sort((x, y) => x.rms - y.rms);
  console.log(`F(4x4, 3x3), ${ranked.length} point sets, 64 channels, 12 x 12, 2 seeds; the 10 best by RMS error:`);
  for (const r of ranked.slice(0, 10)) console.log(`  0 and ${name(r.pts.slice(1)).padEnd(24)} ${fmt(r)}`);
  const lavinRank = ranked.findIndex((r) => name(r.pts) === name(LAVIN));
  console.log(`  Lavin & Gray's 0, +-1, +-2: rank ${lavinRank + 1}, ${fmt(ranked[lavinRank])}`);
}

const chosen = winogradMatrices(CHOSEN);
console.log(`\nthe chosen points ${name(CHOSEN)}, as the shaders scale them:`);
for (const [label, X] of [['A^T', chosen.AT], ['G', chosen.G], ['B^T', chosen.BT]]) console.log(`  ${label}: ${X.map((r) => `[${r.map(show).join(', ')}]`).join(' ')}`);
const sizes = [
  ['64 channels, 24 x 24, 5 seeds', [1, 2, 3, 4, 5].map((seed) => ({ cin: 64, tiles: 6, seed }))],
  ['256 channels, 12 x 12, 2 seeds', [1, 2].map((seed) => ({ cin: 256, tiles: 3, seed }))],
];
for (const [label, runs] of sizes) {
  console.log(`\n${label}:`);
  console.log(`  F(4x4, 3x3) at ${name(CHOSEN)}: ${fmt(measure(chosen, runs))}`);
  for (const block of [32, 16]) console.log(`    its products summed in blocks of ${block} channels: ${fmt(measure(chosen, runs.map((o) => ({ ...o, block }))))}`);
  console.log(`  F(4x4, 3x3) at ${name(LAVIN)} (Lavin & Gray): ${fmt(measure(winogradMatrices(LAVIN), runs))}`);
  console.log(`  F(2x2, 3x3) at 0, 1, -1: ${fmt(measure(winogradMatrices([0, 1, -1], 2), runs.map((o) => ({ ...o, tiles: o.tiles * 2 }))))}`);
  console.log(`  direct: ${fmt(combine(runs.map((o) => directError(o, 4))))}`);
}
