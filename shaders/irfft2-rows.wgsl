// irfft2-rows.wgsl: second half of Lucent's Fourier image parameterisation, the inverse real DFT
// (complex-to-real, Hermitian half-spectrum) along each row of the column-transformed spectrum Z,
// then Lucent's division by 4:
//
//   img[n,c,y,x] = rowNorm * sum_{kx <= W/2} m[kx] * (Re Z[y,kx] cos(phi) - Im Z[y,kx] sin(phi)),
//   phi = 2 pi kx x / W,  m[kx] = 1 for kx = 0 and (W even) kx = W/2, else 2,
//
// with rowNorm = 1 / (sqrt(W) * 4) (the other half of norm='ortho', and the /4). As in pocketfft
// and cuFFT (torch.fft.irfftn), the imaginary parts of the kx = 0 and Nyquist bins have no effect:
// sin(phi) is exactly 0 for them (the twiddle table holds exact zeros). Bins kx > W/2 (Lucent keeps
// one extra column for odd W) are ignored, as irfftn(s=(H, W)) ignores them.
//
// Mirror: cos is even and sin odd in x, so columns x and W - x share every twiddle:
//   img[x] = rowNorm * (re - im),  img[W - x] = rowNorm * (re + im),
//   re = sum m Re Z cos(phi),  im = sum m Im Z sin(phi)   (phi of x).
// A thread therefore computes x in [0, W/2] and writes both x and W - x (once where they coincide:
// x = 0, and x = W/2 for even W).
//
// Params (binding 0) is declared in src/kernels/irfft2-rows.ts, which packs it and emits the struct before this file.
// Bindings (group 0):
//   0 params  : uniform { batchPlanes: u32, height: u32, width: u32, freqWidth: u32, rowNorm: f32 }
//   1 z       : storage read,  array<vec2<f32>>  [N*3, H, Wf] complex
//   2 twiddle : storage read,  array<vec2<f32>>  [W]: (cos, sin)(2 pi m / W)
//   3 img     : storage write, array<f32>        NCHW [N, 3, H, W]
// Override constants: WG (threads per workgroup). XB (const, = COLUMNS_PER_THREAD in the .ts):
// mirror pairs per thread.
// Dispatch (irfft2RowsDispatch): (ceil((W/2 + 1) / XB), gy, gz) workgroups, (gy, gz) =
//   grid1d(ceil(N*3*H / 2), WG). Workgroup x owns the columns x0 + j, x0 = wid.x * XB, j < XB; the
//   thread of flat index t = (wid.y + wid.z * gy) * WG + lid owns the rows 2t and 2t + 1 (row =
//   plane * H + y).
// Invariants: each img element has one writer; columns past W/2 and rows past N*3*H are clamped
//   (computed on valid data) and not written, so control flow is uniform up to the stores; the
//   twiddle index (kx * x) mod W is kept exactly by an integer recurrence (idx += x, minus W on
//   wrap), no rounding beyond the table's.
//
// Why this shape (lavapipe; CPU time of the dispatch at batch 8, 224x224, old and new in one
// process, 2 busy cores): lavapipe runs 8 invocations as the lanes of AVX2 instructions; a load
// whose address is workgroup-uniform becomes one scalar load broadcast to the lanes, one whose
// address varies per invocation a gather. Here the twiddle address depends only on wid.x and the
// loop counter, so it is uniform, and the only per-thread loads are the two rows' Z[row, kx], each
// feeding 2 * XB multiply-adds. The naive form (one output per thread, a per-thread twiddle address
// and a u32 modulo per term) took ~600 ms; 8 columns per thread ~3x less; the mirror halves the
// twiddle loads and multiply-adds per output (in the blocked column pass the uniform twiddle loads
// were half the time, the gathers a third) and the second row per thread shares each twiddle
// between two rows (a further -28%): ~75 ms. 16 accumulators (XB = 4 x 2 rows x re/im) fill AVX2's
// 16 registers; 32 spill and ran ~2x slower, 8 ~10% slower; WG 32 and 128 were no better.

const XB: u32 = 4u;
override WG: u32 = 64u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> z: array<vec2<f32>>;
@group(0) @binding(2) var<storage, read> twiddle: array<vec2<f32>>;
@group(0) @binding(3) var<storage, read_write> img: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_id) lid: vec3u, @builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let w = params.width;
  let half = w / 2u;
  let rows = params.batchPlanes * params.height;
  // 1. This thread's two rows (clamped: the last thread may have one) and the workgroup's columns.
  let row = ((wid.y + wid.z * groups.y) * WG + lid.x) * 2u;
  let zRow0 = min(row, rows - 1u) * params.freqWidth;
  let zRow1 = min(row + 1u, rows - 1u) * params.freqWidth;
  let x0 = wid.x * XB;
  var xs: array<u32, XB>;
  var idx: array<u32, XB>;
  var re0: array<f32, XB>;
  var im0: array<f32, XB>;
  var re1: array<f32, XB>;
  var im1: array<f32, XB>;
  for (var j = 0u; j < XB; j++) {
    xs[j] = min(x0 + j, half);
    idx[j] = 0u;
    re0[j] = 0.0; im0[j] = 0.0; re1[j] = 0.0; im1[j] = 0.0;
  }
  // 2. Hermitian sum over the half-spectrum, doubling the bins that stand for a conjugate pair.
  //    idx[j] = (kx * xs[j]) mod W, a workgroup-uniform address.
  for (var kx = 0u; kx <= half; kx++) {
    let m = select(2.0, 1.0, kx == 0u || 2u * kx == w);
    let v0 = z[zRow0 + kx] * m;
    let v1 = z[zRow1 + kx] * m;
    for (var j = 0u; j < XB; j++) {
      let t = twiddle[idx[j]];
      re0[j] += v0.x * t.x;
      im0[j] += v0.y * t.y;
      re1[j] += v1.x * t.x;
      im1[j] += v1.y * t.y;
      let n = idx[j] + xs[j];
      idx[j] = select(n, n - w, n >= w);
    }
  }
  // 3. Columns x and W - x of both rows.
  for (var j = 0u; j < XB; j++) {
    let x = x0 + j;
    let mirror = x != 0u && 2u * x != w;
    if (x <= half) {
      if (row < rows) {
        img[row * w + x] = (re0[j] - im0[j]) * params.rowNorm;
        if (mirror) { img[row * w + w - x] = (re0[j] + im0[j]) * params.rowNorm; }
      }
      if (row + 1u < rows) {
        img[(row + 1u) * w + x] = (re1[j] - im1[j]) * params.rowNorm;
        if (mirror) { img[(row + 1u) * w + w - x] = (re1[j] + im1[j]) * params.rowNorm; }
      }
    }
  }
}
