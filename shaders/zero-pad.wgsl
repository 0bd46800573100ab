// zero-pad.wgsl: zero padding of every plane of an NCHW tensor, each side growing by P:
//
//   dst[p, oy, ox] = src[p, oy - P, ox - P]   inside,   0   in the border of width P
//
// What 'direct' convolutions read on SwiftShader (src/kernels/conv2d-variants.ts paddedInputFor):
// with the padding in memory, conv2d.wgsl's taps need no clamp and no mask (PADDED_INPUT).
// Every element of dst is written, the border included: dst is a pooled buffer that other tensors
// of the forward also use.
//
// A thread writes one padded row, in three loops (left border, the copied row, right border), so
// that no element needs a division for its coordinates: on SwiftShader this took 0.4-0.5x the time
// of a thread per element (four integer divisions each; two: 0.6-0.7x), on lavapipe 0.25-0.65x.
// It is written for the CPU adapters: on a GPU consecutive threads would not touch consecutive
// addresses.
//
// Params (binding 0) is declared in src/kernels/zero-pad.ts, which packs it and emits the struct before this file.
// Bindings (group 0):
//   0 params : uniform { planes: u32, height: u32, width: u32, pad: u32 }   planes = N*C
//   1 src    : storage read,  array<f32>   [N, C, H, W]
//   2 dst    : storage write, array<f32>   [N, C, H + 2P, W + 2P]; may not alias src
// Override constants: WG (threads per workgroup).
// Dispatch: grid1d(N*C*(H+2P), WG), workgroups (gx, gy, 1); thread r = gx index + gy * gx * WG
// writes padded row r (plane r / (H+2P), row r % (H+2P)).
// Invariants: one writer per element; src is read only inside its rows.

override WG: u32 = 64u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let r = gid.x + gid.y * groups.x * WG;
  let h = params.height;
  let w = params.width;
  let pad = params.pad;
  let ow = w + 2u * pad;
  let oh = h + 2u * pad;
  if (r >= params.planes * oh) { return; }
  let plane = r / oh;
  // The source row, signed: negative or past the end in the top and bottom borders.
  let sy = i32(r - plane * oh) - i32(pad);
  let out = r * ow;
  if (sy < 0 || sy >= i32(h)) {
    for (var ox = 0u; ox < ow; ox++) { dst[out + ox] = 0.0; }
    return;
  }
  let source = (plane * h + u32(sy)) * w;
  for (var ox = 0u; ox < pad; ox++) { dst[out + ox] = 0.0; }
  for (var sx = 0u; sx < w; sx++) { dst[out + pad + sx] = src[source + sx]; }
  for (var ox = pad + w; ox < ow; ox++) { dst[out + ox] = 0.0; }
}
