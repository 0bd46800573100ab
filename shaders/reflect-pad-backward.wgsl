// reflect-pad-backward.wgsl: adjoint of reflect-pad.wgsl as a gather. Along one axis of length L
// with pad P, source index s is read by up to two output indices: o = s + P always, o = P - s when
// 1 <= s <= P (the mirror before the start), and o = P + 2 (L - 1) - s when L - 1 - P <= s <= L - 2
// (the mirror past the end). In 2D the contributions are the products of the per-axis lists:
//
//   dsrc[n,c,sy,sx] = sum over oy in rows(sy), ox in cols(sx) of ddst[n,c,oy,ox]
//
// Params (binding 0) is declared in src/kernels/reflect-pad-backward.ts, which packs it and emits the struct before this file.
// Bindings (group 0):
//   0 params : uniform { planes: u32, height: u32, width: u32, pad: u32 }   planes = N*C
//   1 ddst   : storage read,  array<f32>   [N, C, H + 2P, W + 2P]
//   2 dsrc   : storage write, array<f32>   [N, C, H, W]
// Override constants: WG (threads per workgroup).
// Dispatch: grid1d(N*C*H*W, WG); flat index is the NCHW index into dsrc.
// Invariants: P < H and P < W; one writer per element.

override WG: u32 = 64u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> ddst: array<f32>;
@group(0) @binding(2) var<storage, read_write> dsrc: array<f32>;

// The output indices (up to 3; -1 = none) that read source index s along an axis of length len.
fn readers(s: i32, len: i32) -> vec3<i32> {
  let p = i32(params.pad);
  var r = vec3<i32>(s + p, -1, -1);
  if (s >= 1 && s <= p) { r.y = p - s; }
  if (s >= len - 1 - p && s <= len - 2) { r.z = p + 2 * (len - 1) - s; }
  return r;
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let i = gid.x + gid.y * groups.x * WG;
  let h = params.height;
  let w = params.width;
  if (i >= params.planes * h * w) { return; }
  let plane = i / (h * w);
  let sx = i32(i % w);
  let sy = i32((i / w) % h);
  let ow = w + 2u * params.pad;
  let oh = h + 2u * params.pad;
  let rows = readers(sy, i32(h));
  let cols = readers(sx, i32(w));
  var acc = 0.0;
  for (var a = 0u; a < 3u; a++) {
    if (rows[a] < 0) { continue; }
    for (var b = 0u; b < 3u; b++) {
      if (cols[b] < 0) { continue; }
      acc += ddst[(plane * oh + u32(rows[a])) * ow + u32(cols[b])];
    }
  }
  dsrc[i] = acc;
}
