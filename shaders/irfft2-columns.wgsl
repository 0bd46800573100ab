// irfft2-columns.wgsl: first half of Lucent's Fourier image parameterisation, the inverse complex
// DFT down the columns of a scaled half-spectrum (a small dense DFT, not an FFT: 224 is not a
// power of two and the work is small next to the network):
//
//   Z[n,c,y,kx] = colNorm * sum_{ky < H} scale[ky,kx] * X[n,c,ky,kx] * exp(+2 pi i ky y / H)
//
// X is the optimised parameter (Lucent's spectrum_real_imag_t), scale = 1 / max(|f|, 1/max(H,W))
// is Lucent's 1/frequency weighting and colNorm = 1/sqrt(H) is this axis' share of
// norm='ortho'. irfft2-rows.wgsl then finishes the inverse real FFT along the rows.
//
// Mirrors: with v[ky] = scale * X, w = exp(+2 pi i ky y / H) = c + i s, the terms ky and H - ky
// share w up to conjugation, and so do the outputs y and H - y:
//   Z[y]     = colNorm * (A + i B),   Z[H - y] = colNorm * (A - i B),
//   A = v[0] + sum_{0 < ky < H/2} (v[ky] + v[H-ky]) c + (H even) v[H/2] cos(pi y)
//   B =        sum_{0 < ky < H/2} (v[ky] - v[H-ky]) s             (complex A, B; c, s real).
// A thread computes y in [0, H/2] and writes y and H - y (once where they coincide).
//
// Params (binding 0) is declared in src/kernels/irfft2-columns.ts, which packs it and emits the struct before this file.
// Bindings (group 0):
//   0 params  : uniform { batchPlanes: u32, height: u32, freqWidth: u32, colNorm: f32 }
//               batchPlanes = N*3 (one plane per image and colour), freqWidth = Wf
//   1 x       : storage read,  array<vec2<f32>>  [N*3, H, Wf] complex (re, im), row-major
//   2 scale   : storage read,  array<f32>        [H, Wf] spectrum weights
//   3 twiddle : storage read,  array<vec2<f32>>  [H]: (cos, sin)(2 pi m / H), exact 0 / +-1 where due
//   4 z       : storage write, array<vec2<f32>>  [N*3, H, Wf] complex
// Override constants: WG (threads per workgroup). YB (const, = ROWS_PER_THREAD in the .ts): mirror
// pairs y per thread.
// Dispatch (irfft2ColumnsDispatch): (ceil((H/2 + 1) / YB), gy, gz) workgroups, (gy, gz) =
//   grid1d(N*3*Wf, WG). Workgroup x owns the rows y0 + j, y0 = wid.x * YB, j < YB; the thread of
//   flat index t = (wid.y + wid.z * gy) * WG + lid owns the column t = plane * Wf + kx.
// Invariants: each z element has one writer; rows past H/2 and columns past N*3*Wf are clamped
//   (computed on valid data) and not written, so control flow is uniform up to the stores; the
//   twiddle index (ky * y) mod H is kept exactly by an integer recurrence.
//
// Why this shape (lavapipe): as irfft2-rows.wgsl. The twiddle address depends only on wid.x and
// the loop counter (one scalar load broadcast to the 8 lanes); the per-thread loads are X and scale
// at ky and H - ky (gathers), each pair feeding 4 * YB multiply-adds. The column DFT is complex, so
// both mirrors apply: the output mirror halves the twiddle loads and multiply-adds, the input
// mirror halves them again (-35%). CPU time at batch 8, 224x224: ~780 ms naive, ~90 ms now. 16
// accumulators (YB = 4 x A, B x re/im); YB = 2 and 8 were slower, and two planes per thread
// (sharing the twiddles, at twice the gathers) gained under 5%, not kept.

const YB: u32 = 4u;
override WG: u32 = 64u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<vec2<f32>>;
@group(0) @binding(2) var<storage, read> scale: array<f32>;
@group(0) @binding(3) var<storage, read> twiddle: array<vec2<f32>>;
@group(0) @binding(4) var<storage, read_write> z: array<vec2<f32>>;

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_id) lid: vec3u, @builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let h = params.height;
  let half = h / 2u;
  let wf = params.freqWidth;
  let cols = params.batchPlanes * wf;
  // 1. This thread's column (plane, kx), clamped, and the workgroup's rows (clamped to H/2).
  let col = (wid.y + wid.z * groups.y) * WG + lid.x;
  let c = min(col, cols - 1u);
  let kx = c % wf;
  let base = (c / wf) * h * wf + kx;
  let y0 = wid.x * YB;
  var ys: array<u32, YB>;
  var idx: array<u32, YB>;
  var sa: array<vec2<f32>, YB>;
  var sb: array<vec2<f32>, YB>;
  // 2. ky = 0 (w = 1); idx[j] = (ky * ys[j]) mod H from ky = 1 on.
  let v0 = x[base] * scale[kx];
  for (var j = 0u; j < YB; j++) {
    ys[j] = min(y0 + j, half);
    idx[j] = ys[j];
    sa[j] = v0;
    sb[j] = vec2<f32>(0.0);
  }
  // 3. The pairs ky, H - ky for 0 < ky < H/2.
  for (var ky = 1u; 2u * ky < h; ky++) {
    let a = x[base + ky * wf] * scale[ky * wf + kx];
    let b = x[base + (h - ky) * wf] * scale[(h - ky) * wf + kx];
    let p = a + b;
    let m = a - b;
    for (var j = 0u; j < YB; j++) {
      let t = twiddle[idx[j]];
      sa[j] += p * t.x;
      sb[j] += m * t.y;
      let n = idx[j] + ys[j];
      idx[j] = select(n, n - h, n >= h);
    }
  }
  // 4. ky = H/2 for even H: idx is now (y * H/2) mod H, the sine exactly 0.
  if (2u * half == h) {
    let v = x[base + half * wf] * scale[half * wf + kx];
    for (var j = 0u; j < YB; j++) { sa[j] += v * twiddle[idx[j]].x; }
  }
  // 5. Z[y] = A + iB and Z[H - y] = A - iB.
  if (col < cols) {
    for (var j = 0u; j < YB; j++) {
      let y = y0 + j;
      if (y <= half) {
        z[base + y * wf] = vec2<f32>(sa[j].x - sb[j].y, sa[j].y + sb[j].x) * params.colNorm;
        if (y != 0u && 2u * y != h) {
          z[base + (h - y) * wf] = vec2<f32>(sa[j].x + sb[j].y, sa[j].y - sb[j].x) * params.colNorm;
        }
      }
    }
  }
}
