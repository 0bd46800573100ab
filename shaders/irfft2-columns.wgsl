// irfft2-columns.wgsl: first half of Lucent's Fourier image parameterisation, the inverse complex
// DFT down the columns of a scaled half-spectrum (a small dense DFT matmul, not an FFT: 224 is not
// a power of two and the work is tiny next to the network):
//
//   Z[n,c,y,kx] = colNorm * sum_{ky < H} scale[ky,kx] * X[n,c,ky,kx] * exp(+2 pi i ky y / H)
//
// X is the optimised parameter (Lucent's spectrum_real_imag_t), scale = 1 / max(|f|, 1/max(H,W))
// is Lucent's 1/frequency weighting and colNorm = 1/sqrt(H) is this axis' share of
// norm='ortho'. irfft2-rows.wgsl then finishes the inverse real FFT along the rows.
//
// Params (binding 0) is declared in src/kernels/irfft2-columns.ts, which packs it and emits the struct before this file.
// Bindings (group 0):
//   0 params  : uniform { batchPlanes: u32, height: u32, freqWidth: u32, colNorm: f32 }
//               batchPlanes = N*3 (one plane per image and colour), freqWidth = Wf
//   1 x       : storage read,  array<vec2<f32>>  [N*3, H, Wf] complex (re, im), row-major
//   2 scale   : storage read,  array<f32>        [H, Wf] spectrum weights
//   3 twiddle : storage read,  array<vec2<f32>>  [H]: (cos, sin)(2 pi m / H), exact 0 / +-1 where due
//   4 z       : storage write, array<vec2<f32>>  [N*3, H, Wf] complex
// Override constants: WG (threads per workgroup).
// Dispatch: grid1d(N*3*H*Wf, WG); flat index = ((plane * H) + y) * Wf + kx.
// Invariants: threads past the end return; the twiddle index (ky * y) mod H is exact in u32
//   (H*H < 2^32); each z element has one writer.

override WG: u32 = 64u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<vec2<f32>>;
@group(0) @binding(2) var<storage, read> scale: array<f32>;
@group(0) @binding(3) var<storage, read> twiddle: array<vec2<f32>>;
@group(0) @binding(4) var<storage, read_write> z: array<vec2<f32>>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let i = gid.x + gid.y * groups.x * WG;
  let h = params.height;
  let wf = params.freqWidth;
  if (i >= params.batchPlanes * h * wf) { return; }
  // 1. Decompose: plane (image, colour), output row y, frequency column kx.
  let kx = i % wf;
  let y = (i / wf) % h;
  let plane = i / (wf * h);
  // 2. Sum over ky of the scaled spectrum times exp(+i theta), theta = 2 pi ky y / H:
  //    (a + ib)(cos + i sin) = (a cos - b sin) + i (a sin + b cos).
  var acc = vec2<f32>(0.0);
  let base = plane * h * wf + kx;
  for (var ky = 0u; ky < h; ky++) {
    let v = x[base + ky * wf] * scale[ky * wf + kx];
    let t = twiddle[(ky * y) % h];
    acc += vec2<f32>(v.x * t.x - v.y * t.y, v.x * t.y + v.y * t.x);
  }
  z[i] = acc * params.colNorm;
}
