// conv2d-splitk-reduce.wgsl: the end of a split-K convolution (conv2d-gemm.wgsl with splitK > 1):
// sums the splits' raw sums and applies the affine epilogue and the ReLU mode (params.relu: 0 none,
// 1 ReLU, 2 both: y gets act = identity and yRelu its ReLU),
//
//   y[n,o,oy,ox] = act( scale[o] * sum_{z < splitK} partial[z, o, q] + shift[o] ),   q = (n*OH + oy)*OW + ox
//
// Params (binding 0) is declared in src/kernels/conv2d-gemm.ts, which packs it and emits the struct before this file.
// Bindings (group 0):
//   0 params  : uniform Params (below)
//   1 partial : storage read,  array<f32>  [splitK, Cout, Q]
//   2 scale   : storage read,  array<f32>  [Cout]
//   3 shift   : storage read,  array<f32>  [Cout]
//   4 y       : storage write, array<f32>  NCHW [N, Cout, OH, OW]
//   5 yRelu   : storage write, array<f32>  max(y, 0) when params.relu is 2; any small buffer otherwise
//
// Dispatch grid: ceil(Cout*Q / WG) threads as (gx, gy, 1) workgroups of WG; thread
// t = (wid.x + wid.y*gx)*WG + local index owns element (o, q) = (t / Q, t % Q), so consecutive
// threads read consecutive partials and (within an image) write consecutive outputs.
// Invariants: threads with t >= Cout*Q return; splits are summed in order z = 0, 1, ...


@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> partial: array<f32>;
@group(0) @binding(2) var<storage, read> scale: array<f32>;
@group(0) @binding(3) var<storage, read> shift: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;
@group(0) @binding(5) var<storage, read_write> yRelu: array<f32>;

override WG: u32 = 256u;

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) li: u32, @builtin(workgroup_id) wid: vec3<u32>) {
  let t = (wid.x + wid.y * params.groupsX) * WG + li;
  let total = params.outChannels * params.pixels;
  if (t >= total) {
    return;
  }
  let o = t / params.pixels;
  let q = t % params.pixels;
  var sum = 0.0;
  for (var z = 0u; z < params.splitK; z++) {
    sum += partial[z * total + t];
  }
  var v = sum * scale[o] + shift[o];
  if (params.relu == 1u) {
    v = max(v, 0.0);
  }
  let n = q / params.outPlane;
  let p = q % params.outPlane;
  y[(n * params.outChannels + o) * params.outPlane + p] = v;
  if (params.relu == 2u) {
    yRelu[(n * params.outChannels + o) * params.outPlane + p] = max(v, 0.0);
  }
}
