// irfft2-rows-backward.wgsl: adjoint of irfft2-rows.wgsl, the gradient with respect to the
// column-transformed spectrum Z given the gradient dimg of the (pre-colour) image. The forward is
// the real-linear map img[x] = rowNorm * sum_kx m[kx] (Re Z[kx] cos - Im Z[kx] sin), phi = 2 pi kx x / W,
// so its transpose is
//   dRe Z[y,kx] =  rowNorm * m[kx] * sum_x dimg[y,x] cos(phi)
//   dIm Z[y,kx] = -rowNorm * m[kx] * sum_x dimg[y,x] sin(phi)
// (exactly 0 for the imaginary parts of kx = 0 and the Nyquist bin; 0 for bins kx > W/2, which the
// forward ignores). This is torch's irfft backward (an rfft of the gradient with the paired bins
// doubled).
//
// Mirror: cos is even and sin odd in x, so x and W - x share a twiddle:
//   sum_x g[x] cos = g[0] + sum_{0 < x < W/2} (g[x] + g[W-x]) cos + (W even) g[W/2] cos(pi kx)
//   sum_x g[x] sin =        sum_{0 < x < W/2} (g[x] - g[W-x]) sin      (sin is 0 at x = 0, W/2).
//
// Params (binding 0) is declared in src/kernels/irfft2-rows-backward.ts, which packs it and emits the struct before this file.
// Bindings (group 0):
//   0 params  : uniform { batchPlanes: u32, height: u32, width: u32, freqWidth: u32, rowNorm: f32 }
//   1 dimg    : storage read,  array<f32>        NCHW [N, 3, H, W]
//   2 twiddle : storage read,  array<vec2<f32>>  [W]: (cos, sin)(2 pi m / W)
//   3 dz      : storage write, array<vec2<f32>>  [N*3, H, Wf] complex
// Override constants: WG (threads per workgroup). KB (const, = FREQUENCIES_PER_THREAD in the .ts):
// frequencies per thread.
// Dispatch (irfft2RowsBackwardDispatch): (ceil(Wf / KB), gy, gz) workgroups, (gy, gz) =
//   grid1d(ceil(N*3*H / 2), WG). Workgroup x owns the frequencies kx = k0 + j, k0 = wid.x * KB,
//   j < KB; the thread of flat index t = (wid.y + wid.z * gy) * WG + lid owns the rows 2t, 2t + 1.
// Invariants: each dz element has one writer (bins kx > W/2 are written 0); frequencies past W/2
//   and rows past N*3*H are clamped (computed on valid data) and not written (or written 0), so
//   control flow is uniform up to the stores; the twiddle index (kx * x) mod W is kept exactly by
//   an integer recurrence.
//
// Why this shape (lavapipe): as irfft2-rows.wgsl. The twiddle address depends only on wid.x and
// the loop counter (one scalar load broadcast to the 8 lanes); the per-thread loads are the
// gradient pixels g[x], g[W - x] of two rows (gathers), each pair feeding 2 * KB multiply-adds.
// 16 accumulators (KB = 4 x 2 rows x cos/sin) fill AVX2's registers. CPU time at batch 8, 224x224:
// ~550 ms naive, ~90 ms with 8 frequencies x 1 row per thread and the mirror, ~65 ms with the
// second row (which halves the twiddle loads per multiply-add).

const KB: u32 = 4u;
override WG: u32 = 64u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> dimg: array<f32>;
@group(0) @binding(2) var<storage, read> twiddle: array<vec2<f32>>;
@group(0) @binding(3) var<storage, read_write> dz: array<vec2<f32>>;

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_id) lid: vec3u, @builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let w = params.width;
  let wf = params.freqWidth;
  let half = w / 2u;
  let rows = params.batchPlanes * params.height;
  // 1. This thread's two rows (clamped) and the workgroup's frequencies (clamped to W/2).
  let row = ((wid.y + wid.z * groups.y) * WG + lid.x) * 2u;
  let r0 = min(row, rows - 1u) * w;
  let r1 = min(row + 1u, rows - 1u) * w;
  let k0 = wid.x * KB;
  var ks: array<u32, KB>;
  var idx: array<u32, KB>;
  var c0: array<f32, KB>;
  var s0: array<f32, KB>;
  var c1: array<f32, KB>;
  var s1: array<f32, KB>;
  // 2. x = 0 (cos 1, sin 0); idx[j] = (x * ks[j]) mod W from x = 1 on.
  let g00 = dimg[r0];
  let g10 = dimg[r1];
  for (var j = 0u; j < KB; j++) {
    ks[j] = min(k0 + j, half);
    idx[j] = ks[j];
    c0[j] = g00; s0[j] = 0.0; c1[j] = g10; s1[j] = 0.0;
  }
  // 3. The pairs x, W - x for 0 < x < W/2.
  for (var x = 1u; 2u * x < w; x++) {
    let a0 = dimg[r0 + x];
    let b0 = dimg[r0 + w - x];
    let a1 = dimg[r1 + x];
    let b1 = dimg[r1 + w - x];
    let p0 = a0 + b0;
    let m0 = a0 - b0;
    let p1 = a1 + b1;
    let m1 = a1 - b1;
    for (var j = 0u; j < KB; j++) {
      let t = twiddle[idx[j]];
      c0[j] += p0 * t.x;
      s0[j] += m0 * t.y;
      c1[j] += p1 * t.x;
      s1[j] += m1 * t.y;
      let n = idx[j] + ks[j];
      idx[j] = select(n, n - w, n >= w);
    }
  }
  // 4. x = W/2 for even W: idx is now (kx * W/2) mod W, the sine exactly 0.
  if (2u * half == w) {
    let g0 = dimg[r0 + half];
    let g1 = dimg[r1 + half];
    for (var j = 0u; j < KB; j++) {
      let c = twiddle[idx[j]].x;
      c0[j] += g0 * c;
      c1[j] += g1 * c;
    }
  }
  // 5. Weights m[kx] * rowNorm, conjugate (the transpose of Re - Im sin), 0 past W/2.
  for (var j = 0u; j < KB; j++) {
    let kx = k0 + j;
    let m = select(2.0, 1.0, kx == 0u || 2u * kx == w) * params.rowNorm;
    let used = kx <= half;
    if (kx < wf) {
      if (row < rows) { dz[row * wf + kx] = select(vec2<f32>(0.0), vec2<f32>(c0[j], -s0[j]) * m, used); }
      if (row + 1u < rows) { dz[(row + 1u) * wf + kx] = select(vec2<f32>(0.0), vec2<f32>(c1[j], -s1[j]) * m, used); }
    }
  }
}
