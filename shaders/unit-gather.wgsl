// unit-gather.wgsl: read one unit per image out of an NCHW activation, for a batch where each image
// has its own target channel (the feature-visualisation objective is the centre unit of channel
// c_n of image n):
//
//   out[n] = x[n, channel[n], y, x]       (y, x the same for every image: the centre H//2, W//2)
//
// Params (binding 0) is declared in src/kernels/unit-gather.ts, which packs it and emits the struct before this file.
// Bindings (group 0):
//   0 params  : uniform { batch: u32, channels: u32, height: u32, width: u32, y: u32, x: u32 }
//   1 channel : storage read,  array<u32>   [N] target channel per image
//   2 src     : storage read,  array<f32>   NCHW [N, C, H, W]
//   3 out     : storage write, array<f32>   [N]
// Override constants: WG (threads per workgroup).
// Dispatch: grid1d(N, WG).
// Invariants: channel[n] < C (checked on the host); threads past N return.

override WG: u32 = 64u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> channel: array<u32>;
@group(0) @binding(2) var<storage, read> src: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let n = gid.x + gid.y * groups.x * WG;
  if (n >= params.batch) { return; }
  out[n] = src[((n * params.channels + channel[n]) * params.height + params.y) * params.width + params.x];
}
