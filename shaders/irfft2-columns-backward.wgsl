// irfft2-columns-backward.wgsl: adjoint of irfft2-columns.wgsl, the gradient with respect to the
// spectrum parameter X given the gradient dZ of the column-transformed spectrum. Treating each
// complex number as the real pair (re, im), the forward is the real-linear map
//   Re Z[y] = colNorm * sum_ky s[ky] (Re X[ky] cos - Im X[ky] sin)
//   Im Z[y] = colNorm * sum_ky s[ky] (Re X[ky] sin + Im X[ky] cos),   angle 2 pi ky y / H,
// whose transpose is
//   dRe X[ky] = colNorm * s[ky] * sum_y ( dRe Z[y] cos + dIm Z[y] sin)
//   dIm X[ky] = colNorm * s[ky] * sum_y (-dRe Z[y] sin + dIm Z[y] cos)
// i.e. a forward DFT (exp(-i angle)) of dZ down the column, then the spectrum weights.
//
// Mirrors: with g = dZ and w = c + i s, the terms y and H - y share w up to conjugation, and so
// do the outputs ky and H - ky:
//   dX[ky] = colNorm s[ky] (A - i B),   dX[H - ky] = colNorm s[H-ky] (A + i B),
//   A = g[0] + sum_{0 < y < H/2} (g[y] + g[H-y]) c + (H even) g[H/2] cos(pi ky)
//   B =        sum_{0 < y < H/2} (g[y] - g[H-y]) s.
// A thread computes ky in [0, H/2] and writes ky and H - ky (once where they coincide).
//
// Params (binding 0) is declared in src/kernels/irfft2-columns-backward.ts, which packs it and emits the struct before this file.
// Bindings (group 0):
//   0 params  : uniform { batchPlanes: u32, height: u32, freqWidth: u32, colNorm: f32 }
//   1 dz      : storage read,  array<vec2<f32>>  [N*3, H, Wf] complex gradient of Z
//   2 scale   : storage read,  array<f32>        [H, Wf] spectrum weights
//   3 twiddle : storage read,  array<vec2<f32>>  [H]: (cos, sin)(2 pi m / H)
//   4 dx      : storage write, array<vec2<f32>>  [N*3, H, Wf] gradient of X (re, im)
// Override constants: WG (threads per workgroup). KB (const, = FREQUENCIES_PER_THREAD in the
// .ts): mirror pairs ky per thread.
// Dispatch (irfft2ColumnsBackwardDispatch): (ceil((H/2 + 1) / KB), gy, gz) workgroups, (gy, gz) =
//   grid1d(N*3*Wf, WG). Workgroup x owns ky = k0 + j, k0 = wid.x * KB, j < KB; the thread of flat
//   index t = (wid.y + wid.z * gy) * WG + lid owns the column t = plane * Wf + kx.
// Invariants: each dx element has one writer; frequencies past H/2 and columns past N*3*Wf are
//   clamped (computed on valid data) and not written, so control flow is uniform up to the
//   stores; the twiddle index (ky * y) mod H is kept exactly by an integer recurrence.
//
// Why this shape (lavapipe): as irfft2-columns.wgsl. The per-thread loads are dZ at y and H - y
// (gathers), each pair feeding 4 * KB multiply-adds against workgroup-uniform twiddles. CPU time at
// batch 8, 224x224: ~620 ms naive, ~75 ms now.

const KB: u32 = 4u;
override WG: u32 = 64u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> dz: array<vec2<f32>>;
@group(0) @binding(2) var<storage, read> scale: array<f32>;
@group(0) @binding(3) var<storage, read> twiddle: array<vec2<f32>>;
@group(0) @binding(4) var<storage, read_write> dx: array<vec2<f32>>;

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_id) lid: vec3u, @builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let h = params.height;
  let half = h / 2u;
  let wf = params.freqWidth;
  let cols = params.batchPlanes * wf;
  // 1. This thread's column (plane, kx), clamped, and the workgroup's frequencies (clamped to H/2).
  let col = (wid.y + wid.z * groups.y) * WG + lid.x;
  let c = min(col, cols - 1u);
  let kx = c % wf;
  let base = (c / wf) * h * wf + kx;
  let k0 = wid.x * KB;
  var ks: array<u32, KB>;
  var idx: array<u32, KB>;
  var sa: array<vec2<f32>, KB>;
  var sb: array<vec2<f32>, KB>;
  // 2. y = 0 (w = 1); idx[j] = (y * ks[j]) mod H from y = 1 on.
  let g0 = dz[base];
  for (var j = 0u; j < KB; j++) {
    ks[j] = min(k0 + j, half);
    idx[j] = ks[j];
    sa[j] = g0;
    sb[j] = vec2<f32>(0.0);
  }
  // 3. The pairs y, H - y for 0 < y < H/2.
  for (var y = 1u; 2u * y < h; y++) {
    let a = dz[base + y * wf];
    let b = dz[base + (h - y) * wf];
    let p = a + b;
    let m = a - b;
    for (var j = 0u; j < KB; j++) {
      let t = twiddle[idx[j]];
      sa[j] += p * t.x;
      sb[j] += m * t.y;
      let n = idx[j] + ks[j];
      idx[j] = select(n, n - h, n >= h);
    }
  }
  // 4. y = H/2 for even H: idx is now (ky * H/2) mod H, the sine exactly 0.
  if (2u * half == h) {
    let g = dz[base + half * wf];
    for (var j = 0u; j < KB; j++) { sa[j] += g * twiddle[idx[j]].x; }
  }
  // 5. dX[ky] = A - iB and dX[H - ky] = A + iB, each times colNorm and its spectrum weight.
  if (col < cols) {
    for (var j = 0u; j < KB; j++) {
      let ky = k0 + j;
      if (ky <= half) {
        dx[base + ky * wf] = vec2<f32>(sa[j].x + sb[j].y, sa[j].y - sb[j].x) * (params.colNorm * scale[ky * wf + kx]);
        if (ky != 0u && 2u * ky != h) {
          dx[base + (h - ky) * wf] = vec2<f32>(sa[j].x - sb[j].y, sa[j].y + sb[j].x) * (params.colNorm * scale[(h - ky) * wf + kx]);
        }
      }
    }
  }
}
