// colour-sigmoid-backward.wgsl: adjoint of colour-sigmoid.wgsl. With img = sigmoid(u), u = C t:
//
//   du[c] = dimg[c] * img[c] * (1 - img[c])      (sigmoid' written with the saved output)
//   dt[j] = sum_c C[c][j] * du[c]                (C transposed)
//
// Params (binding 0) is declared in src/kernels/colour-sigmoid-backward.ts, which packs it and emits the struct before this file.
// Bindings (group 0):
//   0 params : uniform { batch: u32, spatial: u32, c: mat3x3<f32> }   as in colour-sigmoid.wgsl
//   1 dimg   : storage read,  array<f32>   NCHW [N, 3, H, W], gradient of the sigmoid image
//   2 img    : storage read,  array<f32>   NCHW [N, 3, H, W], the forward's sigmoid image
//   3 dt     : storage write, array<f32>   NCHW [N, 3, H, W], gradient of the irfft image
// Override constants: WG (threads per workgroup).
// Dispatch: grid1d(N*H*W, WG): one thread per pixel.
// Invariants: threads past N*H*W return; each dt element has one writer.

override WG: u32 = 64u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> dimg: array<f32>;
@group(0) @binding(2) var<storage, read> img: array<f32>;
@group(0) @binding(3) var<storage, read_write> dt: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let i = gid.x + gid.y * groups.x * WG;
  let s = params.spatial;
  if (i >= params.batch * s) { return; }
  let n = i / s;
  let p = i % s;
  let base = n * 3u * s + p;
  let y = vec3<f32>(img[base], img[base + s], img[base + 2u * s]);
  let g = vec3<f32>(dimg[base], dimg[base + s], dimg[base + 2u * s]);
  let du = g * y * (1.0 - y);
  // v * M is the row vector times the matrix: (du^T C)[j] = sum_c du[c] C[c][j].
  let d = du * params.c;
  dt[base] = d.x;
  dt[base + s] = d.y;
  dt[base + 2u * s] = d.z;
}
