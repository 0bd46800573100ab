// conv2d-grouped-backward.wgsl: gradient of a grouped convolution (conv2d-grouped.wgsl, forward
// y = scale * conv + shift) with respect to its input, weights fixed, as a gather (no atomics):
//
//   dx[n,ci,iy,ix] = sum_{o in group(ci), ky, kx : oy = (iy+P-ky)/S and ox = (ix+P-kx)/S whole and in range}
//                      scale[o] * W[o, ci - g*Cin/G, ky, kx] * dy[n,o,oy,ox]
//
// where group(ci) = output channels g*Cout/G .. (g+1)*Cout/G - 1 of g = ci / (Cin/G); then,
// optionally, dx += addend (a second gradient of the same tensor: the residual fan-out) and
// dx = 0 where mask <= 0 (the ReLU that produced this convolution's input), as conv2d-backward.wgsl.
//
// Params (binding 0) is declared in src/kernels/conv2d-grouped.ts, which packs it and emits the struct before this file.
// Bindings (group 0):
//   0 params : uniform Params (below)
//   1 dy     : storage read,  array<f32>  NCHW [N, Cout, OH, OW]
//   2 w      : storage read,  array<f32>  [Cout, Cin/G, K, K] (the forward's weights)
//   3 scale  : storage read,  array<f32>  [Cout] (the forward epilogue's factor)
//   4 addend : storage read,  array<f32>  NCHW [N, Cin, H, W] (read only when add = 1)
//   5 mask   : storage read,  array<f32>  NCHW [N, Cin, H, W] (read only when mask = 1)
//   6 dx     : storage write, array<f32>  NCHW [N, Cin, H, W]; must not alias the others
//
// Dispatch grid: grid1d(N * Cin * H * W, WG), one thread per dx element (flat NCHW index).
// Invariants: threads past the tensor return; a tap contributes only when (iy + P - ky) and
// (ix + P - kx) are non-negative multiples of S with the quotient inside the output.


override KSIZE: u32 = 3u;
override STRIDE: u32 = 1u;
override WG: u32 = 64u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read> scale: array<f32>;
@group(0) @binding(4) var<storage, read> addend: array<f32>;
@group(0) @binding(5) var<storage, read> mask: array<f32>;
@group(0) @binding(6) var<storage, read_write> dx: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let t = (wid.x + wid.y * params.groupsX) * WG + lid;
  if (t >= params.count) {
    return;
  }
  let ix = i32(t % params.inWidth);
  let iy = i32((t / params.inWidth) % params.inHeight);
  let ci = (t / (params.inWidth * params.inHeight)) % params.inChannels;
  let n = t / (params.inWidth * params.inHeight * params.inChannels);
  let inPerGroup = params.inChannels / params.groups;
  let outPerGroup = params.outChannels / params.groups;
  let g = ci / inPerGroup;
  let c = ci - g * inPerGroup;

  var sum = 0.0;
  for (var k = 0u; k < outPerGroup; k++) {
    let o = g * outPerGroup + k;
    var part = 0.0;
    for (var ky = 0u; ky < KSIZE; ky++) {
      let ny = iy + params.padding - i32(ky);
      if (ny < 0 || ny % i32(STRIDE) != 0) {
        continue;
      }
      let oy = u32(ny) / STRIDE;
      if (oy >= params.outHeight) {
        continue;
      }
      for (var kx = 0u; kx < KSIZE; kx++) {
        let nx = ix + params.padding - i32(kx);
        if (nx < 0 || nx % i32(STRIDE) != 0) {
          continue;
        }
        let ox = u32(nx) / STRIDE;
        if (ox >= params.outWidth) {
          continue;
        }
        part += dy[((n * params.outChannels + o) * params.outHeight + oy) * params.outWidth + ox]
          * w[((o * inPerGroup + c) * KSIZE + ky) * KSIZE + kx];
      }
    }
    sum += part * scale[o];
  }
  if (params.add != 0u) {
    sum += addend[t];
  }
  if (params.mask != 0u && mask[t] <= 0.0) {
    sum = 0.0;
  }
  dx[t] = sum;
}
