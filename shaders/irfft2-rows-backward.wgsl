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
// Params (binding 0) is declared in src/kernels/irfft2-rows-backward.ts, which packs it and emits the struct before this file.
// Bindings (group 0):
//   0 params  : uniform { batchPlanes: u32, height: u32, width: u32, freqWidth: u32, rowNorm: f32 }
//   1 dimg    : storage read,  array<f32>        NCHW [N, 3, H, W]
//   2 twiddle : storage read,  array<vec2<f32>>  [W]: (cos, sin)(2 pi m / W)
//   3 dz      : storage write, array<vec2<f32>>  [N*3, H, Wf] complex
// Override constants: WG (threads per workgroup).
// Dispatch: grid1d(N*3*H*Wf, WG); flat index = ((plane * H) + y) * Wf + kx.
// Invariants: threads past the end return; each dz element has one writer.

override WG: u32 = 64u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> dimg: array<f32>;
@group(0) @binding(2) var<storage, read> twiddle: array<vec2<f32>>;
@group(0) @binding(3) var<storage, read_write> dz: array<vec2<f32>>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let i = gid.x + gid.y * groups.x * WG;
  let w = params.width;
  let wf = params.freqWidth;
  if (i >= params.batchPlanes * params.height * wf) { return; }
  // 1. Decompose: row of the image (plane and y together), frequency column kx.
  let kx = i % wf;
  let row = i / wf;
  if (kx > w / 2u) {
    dz[i] = vec2<f32>(0.0);
    return;
  }
  // 2. Correlate the gradient row with cos and sin of frequency kx.
  var acc = vec2<f32>(0.0);
  let imgRow = row * w;
  for (var x = 0u; x < w; x++) {
    let g = dimg[imgRow + x];
    let t = twiddle[(kx * x) % w];
    acc += vec2<f32>(g * t.x, -g * t.y);
  }
  let m = select(2.0, 1.0, kx == 0u || 2u * kx == w);
  dz[i] = acc * (m * params.rowNorm);
}
