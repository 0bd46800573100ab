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
// Params (binding 0) is declared in src/kernels/irfft2-columns-backward.ts, which packs it and emits the struct before this file.
// Bindings (group 0):
//   0 params  : uniform { batchPlanes: u32, height: u32, freqWidth: u32, colNorm: f32 }
//   1 dz      : storage read,  array<vec2<f32>>  [N*3, H, Wf] complex gradient of Z
//   2 scale   : storage read,  array<f32>        [H, Wf] spectrum weights
//   3 twiddle : storage read,  array<vec2<f32>>  [H]: (cos, sin)(2 pi m / H)
//   4 dx      : storage write, array<vec2<f32>>  [N*3, H, Wf] gradient of X (re, im)
// Override constants: WG (threads per workgroup).
// Dispatch: grid1d(N*3*H*Wf, WG); flat index = ((plane * H) + ky) * Wf + kx.
// Invariants: threads past the end return; each dx element has one writer.

override WG: u32 = 64u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> dz: array<vec2<f32>>;
@group(0) @binding(2) var<storage, read> scale: array<f32>;
@group(0) @binding(3) var<storage, read> twiddle: array<vec2<f32>>;
@group(0) @binding(4) var<storage, read_write> dx: array<vec2<f32>>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let i = gid.x + gid.y * groups.x * WG;
  let h = params.height;
  let wf = params.freqWidth;
  if (i >= params.batchPlanes * h * wf) { return; }
  // 1. Decompose: plane, frequency row ky, frequency column kx.
  let kx = i % wf;
  let ky = (i / wf) % h;
  let plane = i / (wf * h);
  // 2. Sum over y of dZ times exp(-i theta): (a + ib)(cos - i sin) = (a cos + b sin) + i (b cos - a sin).
  var acc = vec2<f32>(0.0);
  let base = plane * h * wf + kx;
  for (var y = 0u; y < h; y++) {
    let g = dz[base + y * wf];
    let t = twiddle[(ky * y) % h];
    acc += vec2<f32>(g.x * t.x + g.y * t.y, g.y * t.x - g.x * t.y);
  }
  dx[i] = acc * (params.colNorm * scale[ky * wf + kx]);
}
