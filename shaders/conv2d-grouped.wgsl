// conv2d-grouped.wgsl: grouped 2D convolution (torch's Conv2d with `groups`, ResNeXt's 3x3) with a
// per-output-channel affine epilogue and the ReLU mode (params.relu: 0 none, 1 ReLU, 2 both: y
// gets act = identity and yRelu its ReLU):
//
//   y[n,o,oy,ox] = act( scale[o] * sum_{c < Cin/G, ky, kx} x[n, g*Cin/G + c, oy*S-P+ky, ox*S-P+kx] * W[o,c,ky,kx] + shift[o] )
//
// with g = o / (Cout/G), the group of output channel o; taps in the padding read 0. groups = 1 is
// the plain convolution.
//
// Params (binding 0) is declared in src/kernels/conv2d-grouped.ts, which packs it and emits the struct before this file.
// Bindings (group 0):
//   0 params : uniform Params (below)
//   1 x      : storage read,  array<f32>  NCHW [N, Cin, H, W]
//   2 w      : storage read,  array<f32>  torchvision's layout [Cout, Cin/G, K, K]
//   3 scale  : storage read,  array<f32>  [Cout]
//   4 shift  : storage read,  array<f32>  [Cout]
//   5 y      : storage write, array<f32>  NCHW [N, Cout, OH, OW]; must not alias x
//   6 yRelu  : storage write, array<f32>  max(y, 0) when params.relu is 2; any small buffer otherwise
//
// Blocking: a thread owns one output channel x COLS (= 4) neighbouring columns of one output row:
// per tap it loads one weight (the same for the workgroup's threads of one channel) and up to 4
// inputs. A group has few channels in ResNeXt (4 or 8 per group in resnext50_32x4d and
// resnext101_64x4d / 32x8d), so the loop over the group's input channels is short and a vec4 of
// output channels would span groups.
//
// Dispatch grid: grid1d(N * Cout * OH * colBlocks, WG), colBlocks = ceil(OW / 4); flat thread
// t = (wid.x + wid.y * groupsX) * WG + local index; consecutive threads take consecutive column
// blocks, then rows, then channels, then images.
//
// Invariants: threads with t >= N * Cout * OH * colBlocks return; columns past OW are not written;
// every output element is written by exactly one thread.


override KSIZE: u32 = 3u;
override STRIDE: u32 = 1u;
override WG: u32 = 64u;

const COLS: u32 = 4u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read> scale: array<f32>;
@group(0) @binding(4) var<storage, read> shift: array<f32>;
@group(0) @binding(5) var<storage, read_write> y: array<f32>;
@group(0) @binding(6) var<storage, read_write> yRelu: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let t = (wid.x + wid.y * params.groupsX) * WG + lid;
  if (t >= params.threads) {
    return;
  }
  let block = t % params.colBlocks;
  let oy = (t / params.colBlocks) % params.outHeight;
  let o = (t / (params.colBlocks * params.outHeight)) % params.outChannels;
  let n = t / (params.colBlocks * params.outHeight * params.outChannels);
  let inPerGroup = params.inChannels / params.groups;
  let outPerGroup = params.outChannels / params.groups;
  let firstIn = (o / outPerGroup) * inPerGroup;
  let ox0 = block * COLS;

  var acc = vec4<f32>(0.0);
  for (var c = 0u; c < inPerGroup; c++) {
    let plane = (n * params.inChannels + firstIn + c) * params.inHeight;
    let taps = (o * inPerGroup + c) * KSIZE * KSIZE;
    for (var ky = 0u; ky < KSIZE; ky++) {
      let iy = i32(oy * STRIDE + ky) - params.padding;
      if (iy < 0 || u32(iy) >= params.inHeight) {
        continue;
      }
      let row = (plane + u32(iy)) * params.inWidth;
      for (var kx = 0u; kx < KSIZE; kx++) {
        let wv = w[taps + ky * KSIZE + kx];
        var xs = vec4<f32>(0.0);
        for (var j = 0u; j < COLS; j++) {
          let ix = i32((ox0 + j) * STRIDE + kx) - params.padding;
          if (ix >= 0 && u32(ix) < params.inWidth) {
            xs[j] = x[row + u32(ix)];
          }
        }
        acc += xs * wv;
      }
    }
  }
  let out = ((n * params.outChannels + o) * params.outHeight + oy) * params.outWidth;
  for (var j = 0u; j < COLS; j++) {
    if (ox0 + j < params.outWidth) {
      var v = acc[j] * scale[o] + shift[o];
      if (params.relu == 1u) {
        v = max(v, 0.0);
      }
      y[out + ox0 + j] = v;
      if (params.relu == 2u) {
        yRelu[out + ox0 + j] = max(v, 0.0);
      }
    }
  }
}
