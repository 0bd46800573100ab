// reflect-pad.wgsl: reflection padding (torch.nn.functional.pad(mode='reflect')), the first of
// Lucent's transforms for jitter j >= 4: each side grows by P, mirrored about the edge pixel
// (the edge itself is not repeated), so for an axis of length L and an output index o:
//
//   t = o - P;  src = -t if t < 0;  2 (L - 1) - t if t >= L;  else t          (P < L)
//
// Params (binding 0) is declared in src/kernels/reflect-pad.ts, which packs it and emits the struct before this file.
// Bindings (group 0):
//   0 params : uniform { planes: u32, height: u32, width: u32, pad: u32 }   planes = N*C
//   1 src    : storage read,  array<f32>   [N, C, H, W]
//   2 dst    : storage write, array<f32>   [N, C, H + 2P, W + 2P]; may not alias src
// Override constants: WG (threads per workgroup).
// Dispatch: grid1d(N*C*(H+2P)*(W+2P), WG); flat index is the NCHW index into dst.
// Invariants: P < H and P < W (checked on the host, as torch requires); one writer per element.

override WG: u32 = 64u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;

fn reflect(o: i32, len: i32) -> i32 {
  let t = o - i32(params.pad);
  if (t < 0) { return -t; }
  if (t >= len) { return 2 * (len - 1) - t; }
  return t;
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let i = gid.x + gid.y * groups.x * WG;
  let h = params.height;
  let w = params.width;
  let ow = w + 2u * params.pad;
  let oh = h + 2u * params.pad;
  if (i >= params.planes * oh * ow) { return; }
  let plane = i / (oh * ow);
  let ox = i32(i % ow);
  let oy = i32((i / ow) % oh);
  let sx = u32(reflect(ox, i32(w)));
  let sy = u32(reflect(oy, i32(h)));
  dst[i] = src[(plane * h + sy) * w + sx];
}
