// channel-replace.wgsl: channel ablation in place: for every channel c with mask[c] != 0, every
// element of that channel in every image is replaced by value[c] (0 for zero-ablation, the
// channel's mean for mean-ablation); other channels are left untouched.
//
//   x[n,c,i] = mask[c] != 0 ? value[c] : x[n,c,i]
//
// Params (binding 0) is declared in src/kernels/channel-replace.ts, which packs it and emits the struct before this file.
// Bindings (group 0):
//   0 params : uniform { count: u32, spatial: u32, channels: u32 }   count = N * C * spatial
//   1 x      : storage read_write, array<f32>   NCHW [N, C, H, W], modified in place
//   2 mask   : storage read, array<u32>         [C], non-zero = replace this channel
//   3 value  : storage read, array<f32>         [C], the replacement value per channel
// Override constants: WG (threads per workgroup).
// Dispatch: grid1d(count, WG); flat index i = global_id.x + global_id.y * gx * WG.
// Invariants: threads past `count` return; each thread touches only its own element, so the
// in-place update has no races; elements of unmasked channels are not written at all.

override WG: u32 = 256u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> x: array<f32>;
@group(0) @binding(2) var<storage, read> mask: array<u32>;
@group(0) @binding(3) var<storage, read> value: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  // 1. Flat element index i = (n * C + c) * spatial + s.
  let i = gid.x + gid.y * groups.x * WG;
  if (i >= params.count) { return; }
  // 2. Its channel; replace when masked.
  let c = (i / params.spatial) % params.channels;
  if (mask[c] != 0u) {
    x[i] = value[c];
  }
}
