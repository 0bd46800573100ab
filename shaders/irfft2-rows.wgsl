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
// Params (binding 0) is declared in src/kernels/irfft2-rows.ts, which packs it and emits the struct before this file.
// Bindings (group 0):
//   0 params  : uniform { batchPlanes: u32, height: u32, width: u32, freqWidth: u32, rowNorm: f32 }
//   1 z       : storage read,  array<vec2<f32>>  [N*3, H, Wf] complex
//   2 twiddle : storage read,  array<vec2<f32>>  [W]: (cos, sin)(2 pi m / W)
//   3 img     : storage write, array<f32>        NCHW [N, 3, H, W]
// Override constants: WG (threads per workgroup).
// Dispatch: grid1d(N*3*H*W, WG); flat index = ((plane * H) + y) * W + x.
// Invariants: threads past the end return; each img element has one writer; twiddle index
//   (kx * x) mod W is exact in u32.

override WG: u32 = 64u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> z: array<vec2<f32>>;
@group(0) @binding(2) var<storage, read> twiddle: array<vec2<f32>>;
@group(0) @binding(3) var<storage, read_write> img: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let i = gid.x + gid.y * groups.x * WG;
  let h = params.height;
  let w = params.width;
  if (i >= params.batchPlanes * h * w) { return; }
  // 1. Decompose: plane and row (together: the row of Z to read), column x.
  let x = i % w;
  let row = i / w;
  let zRow = row * params.freqWidth;
  // 2. Hermitian sum over the half-spectrum, doubling the bins that stand for a conjugate pair.
  var acc = 0.0;
  for (var kx = 0u; kx <= w / 2u; kx++) {
    let v = z[zRow + kx];
    let t = twiddle[(kx * x) % w];
    let m = select(2.0, 1.0, kx == 0u || 2u * kx == w);
    acc += m * (v.x * t.x - v.y * t.y);
  }
  img[i] = acc * params.rowNorm;
}
