// colour-sigmoid.wgsl: the last step of Lucent's image parameterisation (to_valid_rgb with
// decorrelate=True): mix the three decorrelated channels with the square root of ImageNet's colour
// correlation (Lucent's color_correlation_svd_sqrt divided by its largest column norm), then squash
// to [0, 1] with a sigmoid:
//
//   u[c] = sum_j C[c][j] * t[j]      (per pixel; Lucent: t_permute @ C^T)
//   img[n,c,y,x] = 1 / (1 + exp(-u[c]))
//
// Params (binding 0) is declared in src/kernels/colour-sigmoid.ts, which packs it and emits the struct before this file.
// Bindings (group 0):
//   0 params : uniform { batch: u32, spatial: u32, c: mat3x3<f32> }   spatial = H*W;
//              c is column-major as WGSL stores it: c[j][i] = C[i][j]
//   1 t      : storage read,  array<f32>   NCHW [N, 3, H, W], the irfft image
//   2 img    : storage write, array<f32>   NCHW [N, 3, H, W], the image in [0, 1]; may not alias t
// Override constants: WG (threads per workgroup).
// Dispatch: grid1d(N*H*W, WG): one thread per pixel, all three channels.
// Invariants: threads past N*H*W return; each img element has one writer.

override WG: u32 = 64u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> t: array<f32>;
@group(0) @binding(2) var<storage, read_write> img: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let i = gid.x + gid.y * groups.x * WG;
  let s = params.spatial;
  if (i >= params.batch * s) { return; }
  // 1. Pixel p of image n; its three channels are s apart.
  let n = i / s;
  let p = i % s;
  let base = n * 3u * s + p;
  let v = vec3<f32>(t[base], t[base + s], t[base + 2u * s]);
  // 2. Colour mix and sigmoid.
  let u = params.c * v;
  let y = 1.0 / (1.0 + exp(-u));
  img[base] = y.x;
  img[base + s] = y.y;
  img[base + 2u * s] = y.z;
}
