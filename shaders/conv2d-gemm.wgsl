// conv2d-gemm.wgsl: 2D convolution as a tiled implicit GEMM with workgroup memory, the form real
// GPUs need. The same result as conv2d.wgsl,
//
//   y[n,o,oy,ox] = act( scale[o] * sum_{ci,ky,kx} x[n, ci, oy*S-P+ky, ox*S-P+kx] * W[o,ci,ky,kx] + shift[o] )
//
// seen as a matrix product C = A * B with
//   A [Cout x T]  the weights, T = Cin*K*K taps (row o, column t = (ci*K + ky)*K + kx);
//   B [T x Q]     the input patches, gathered on the fly (im2col), Q = N*OH*OW output pixels
//                 (column q = (n*OH + oy)*OW + ox); a tap in the padding reads 0;
//   C [Cout x Q]  the convolution, written as NCHW y.
// It sums in another order than conv2d.wgsl (tile by tile, and split over K), so results differ
// from it by float32 rounding only.
//
// Params (binding 0) is declared in src/kernels/conv2d-gemm.ts, which packs it and emits the struct before this file.
// Bindings (group 0):
//   0 params  : uniform Params (below)
//   1 x       : storage read,  array<f32>        NCHW [N, Cin, H, W]
//   2 w       : storage read,  array<vec4<f32>>  packConv2dWeights' layout: vec4 (v*T + t) holds
//               W[4v .. 4v+3] at tap t; channels past Cout are 0
//   3 scale   : storage read,  array<f32>        [Cout]
//   4 shift   : storage read,  array<f32>        [Cout]
//   5 y       : storage write, array<f32>        NCHW [N, Cout, OH, OW]; written when splitK == 1
//   6 partial : storage write, array<f32>        [splitK, Cout, Q] raw sums; written when splitK > 1,
//               then summed with the epilogue by conv2d-splitk-reduce.wgsl
//   7 yRelu   : storage write, array<f32>        max(y, 0), written when splitK == 1 and params.relu
//               is 2 (both outputs: y stays before the ReLU); any small buffer otherwise
//
// Tiling: a workgroup of 256 threads (tx, ty) = (i % 16, i / 16) owns a tile of 64 output channels x 64 pixels, over taps
// [z*chunk, min((z+1)*chunk, T)) where z = workgroup_id.z < splitK. Per step of 16 taps it stages
// A's 16 x 64 slice (256 vec4, one per thread) and B's 16 x 64 slice (1024 floats, four per
// thread, consecutive threads on consecutive pixels so the gathers of a row coalesce) in
// workgroup memory, then each thread accumulates 4 channels (one vec4 of A) x 4 pixels (columns
// tx, tx+16, tx+32, tx+48 of the tile) = 16 outputs in 4 vec4 registers.
//
// Dispatch grid (conv2dGemmDispatches): (ceil(Q/64), ceil(Cout/64), splitK) workgroups.
//
// Invariants:
//   - the K loop's bounds depend only on params and workgroup_id, so every thread of a workgroup
//     reaches every barrier;
//   - out-of-range pixels, channels and taps are staged as 0 and never written;
//   - every output element (or partial element) is written by exactly one thread.


@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> scale: array<f32>;
@group(0) @binding(4) var<storage, read> shift: array<f32>;
@group(0) @binding(5) var<storage, read_write> y: array<f32>;
@group(0) @binding(6) var<storage, read_write> partial: array<f32>;
@group(0) @binding(7) var<storage, read_write> yRelu: array<f32>;

override KSIZE: u32 = 3u;
override STRIDE: u32 = 1u;
// Threads per workgroup: the tiling below is written for 256 (16 x 16), which the wrapper passes.
override WG: u32 = 256u;

// TILE, STEP, tileA, tileB and accumulateStep: shaders/parts/gemm-tile.wgsl, joined after this file.

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) flat: u32, @builtin(workgroup_id) wid: vec3<u32>) {
  let tx = flat % 16u;
  let ty = flat / 16u;
  let pixel0 = wid.x * TILE;
  let group0 = wid.y * 16u;           // first packed vec4 group of the tile
  let vec4Groups = (params.outChannels + 3u) / 4u;
  let kBegin = wid.z * params.chunk;
  let kEnd = min(kBegin + params.chunk, params.taps);
  let outPlane = params.outHeight * params.outWidth;
  let inPlane = params.inHeight * params.inWidth;

  var acc0 = vec4<f32>(0.0);
  var acc1 = vec4<f32>(0.0);
  var acc2 = vec4<f32>(0.0);
  var acc3 = vec4<f32>(0.0);

  for (var k0 = kBegin; k0 < kEnd; k0 += STEP) {
    // Stage A: thread (tx, ty) loads tap k0+ty of channel group group0+tx.
    {
      let t = k0 + ty;
      let g = group0 + tx;
      var a = vec4<f32>(0.0);
      if (t < kEnd && g < vec4Groups) {
        a = w[g * params.taps + t];
      }
      tileA[ty * 16u + tx] = a;
    }
    // Stage B: 1024 elements, element e = flat + 256*i holds tap row e / 64, pixel column e % 64.
    for (var i = 0u; i < 4u; i++) {
      let e = flat + 256u * i;
      let row = e / TILE;
      let col = e % TILE;
      let t = k0 + row;
      let q = pixel0 + col;
      var v = 0.0;
      if (t < kEnd && q < params.pixels) {
        let ci = t / (KSIZE * KSIZE);
        let r = t % (KSIZE * KSIZE);
        let ky = r / KSIZE;
        let kx = r % KSIZE;
        let n = q / outPlane;
        let p = q % outPlane;
        let oy = p / params.outWidth;
        let ox = p % params.outWidth;
        let iy = i32(oy * STRIDE + ky) - params.padding;
        let ix = i32(ox * STRIDE + kx) - params.padding;
        if (iy >= 0 && ix >= 0 && u32(iy) < params.inHeight && u32(ix) < params.inWidth) {
          v = x[(n * params.inChannels + ci) * inPlane + u32(iy) * params.inWidth + u32(ix)];
        }
      }
      tileB[e] = v;
    }
    workgroupBarrier();
    accumulateStep(tx, ty, &acc0, &acc1, &acc2, &acc3);
    workgroupBarrier();
  }

  let o0 = (group0 + ty) * 4u;
  store(acc0, o0, pixel0 + tx, wid.z, outPlane);
  store(acc1, o0, pixel0 + tx + 16u, wid.z, outPlane);
  store(acc2, o0, pixel0 + tx + 32u, wid.z, outPlane);
  store(acc3, o0, pixel0 + tx + 48u, wid.z, outPlane);
}

/** Write 4 channels (o0 .. o0+3) of pixel q: the finished output, or this split's raw sums. */
fn store(acc: vec4<f32>, o0: u32, q: u32, split: u32, outPlane: u32) {
  if (q >= params.pixels) {
    return;
  }
  let n = q / outPlane;
  let p = q % outPlane;
  for (var c = 0u; c < 4u; c++) {
    let o = o0 + c;
    if (o < params.outChannels) {
      if (params.splitK == 1u) {
        var v = acc[c] * scale[o] + shift[o];
        if (params.relu == 1u) {
          v = max(v, 0.0);
        }
        y[(n * params.outChannels + o) * outPlane + p] = v;
        if (params.relu == 2u) {
          yRelu[(n * params.outChannels + o) * outPlane + p] = max(v, 0.0);
        }
      } else {
        partial[(split * params.outChannels + o) * params.pixels + q] = acc[c];
      }
    }
  }
}
