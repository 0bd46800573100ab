// load-probe.wgsl: what a load costs an adapter, against a multiply-add. bench/load-cost.ts times
// each entry point on one adapter and divides by the loads (or FMAs) done: the cost model behind
// the CPU adapters' kernels (shaders/conv2d.wgsl, shaders/conv2d-winograd-gemm-plain.wgsl), where
// a thread does as many multiply-adds per load as its registers allow.
//
// Every entry point runs LOOP iterations of four loads (or, fmaOnly, 16 vec4 multiply-adds) into
// four vec4 accumulators and stores their sum once, so the loop is all that is timed. The index of
// a load is base + 4c + k, with base
//   INDEX_MODE 0: the workgroup's (wid.x % 8): the same for every invocation of a workgroup, which
//                 a compiler that tracks uniformity could load once for all of them;
//   INDEX_MODE 1: the invocation's (local index): neighbouring invocations read neighbouring
//                 elements, as the kernels' per-invocation loads do.
// Entry points: scalarLoads (storage f32, each broadcast to a vec4), vec4Loads (storage vec4),
// uniformLoads (a uniform-buffer array of vec4, the index wrapped into it), workgroupLoads
// (workgroup memory, filled once before a barrier), textureLoads (texels of an rgba32float texture,
// TEXTURE_WIDTH wide, element i at (i % width, i / width)), fmaOnly (no loads).
//
// Bindings (group 0, every entry point's layout holds all four):
//   0 scalars : storage read, array<f32>        (at least (4 * LOOP + 64) elements)
//   1 vectors : storage read, array<vec4<f32>>  (the same count)
//   2 table   : uniform,      array<vec4<f32>, 1024>
//   3 sums    : storage write, array<vec4<f32>> (one per invocation)
//   4 texels  : texture_2d<f32>, rgba32float      (TEXTURE_WIDTH x enough rows for the same count)

override INDEX_MODE: u32 = 0u;
override LOOP: u32 = 4096u;
override TEXTURE_WIDTH: u32 = 1024u;

@group(0) @binding(0) var<storage, read> scalars: array<f32>;
@group(0) @binding(1) var<storage, read> vectors: array<vec4<f32>>;
@group(0) @binding(2) var<uniform> table: array<vec4<f32>, 1024>;
@group(0) @binding(3) var<storage, read_write> sums: array<vec4<f32>>;
@group(0) @binding(4) var texels: texture_2d<f32>;

var<workgroup> staged: array<vec4<f32>, 1024>;

fn base(wid: vec3u, lid: u32) -> u32 {
  return select(wid.x % 8u, lid, INDEX_MODE == 1u);
}

fn done(wid: vec3u, lid: u32, total: vec4<f32>) {
  sums[wid.x * 64u + lid] = total;
}

@compute @workgroup_size(64)
fn scalarLoads(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  var a0 = vec4<f32>(0.0); var a1 = vec4<f32>(0.0); var a2 = vec4<f32>(0.0); var a3 = vec4<f32>(0.0);
  let b = base(wid, lid);
  for (var c = 0u; c < LOOP; c++) {
    let i = b + 4u * c;
    a0 += vec4<f32>(scalars[i]); a1 += vec4<f32>(scalars[i + 1u]);
    a2 += vec4<f32>(scalars[i + 2u]); a3 += vec4<f32>(scalars[i + 3u]);
  }
  done(wid, lid, a0 + a1 + a2 + a3);
}

@compute @workgroup_size(64)
fn vec4Loads(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  var a0 = vec4<f32>(0.0); var a1 = vec4<f32>(0.0); var a2 = vec4<f32>(0.0); var a3 = vec4<f32>(0.0);
  let b = base(wid, lid);
  for (var c = 0u; c < LOOP; c++) {
    let i = b + 4u * c;
    a0 += vectors[i]; a1 += vectors[i + 1u]; a2 += vectors[i + 2u]; a3 += vectors[i + 3u];
  }
  done(wid, lid, a0 + a1 + a2 + a3);
}

@compute @workgroup_size(64)
fn uniformLoads(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  var a0 = vec4<f32>(0.0); var a1 = vec4<f32>(0.0); var a2 = vec4<f32>(0.0); var a3 = vec4<f32>(0.0);
  let b = base(wid, lid);
  for (var c = 0u; c < LOOP; c++) {
    let i = b + 4u * c;
    a0 += table[i & 1023u]; a1 += table[(i + 1u) & 1023u]; a2 += table[(i + 2u) & 1023u]; a3 += table[(i + 3u) & 1023u];
  }
  done(wid, lid, a0 + a1 + a2 + a3);
}

@compute @workgroup_size(64)
fn workgroupLoads(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  for (var k = 0u; k < 16u; k++) { staged[lid * 16u + k] = vectors[lid * 16u + k]; }
  workgroupBarrier();
  var a0 = vec4<f32>(0.0); var a1 = vec4<f32>(0.0); var a2 = vec4<f32>(0.0); var a3 = vec4<f32>(0.0);
  let b = base(wid, lid);
  for (var c = 0u; c < LOOP; c++) {
    let i = b + 4u * c;
    a0 += staged[i & 1023u]; a1 += staged[(i + 1u) & 1023u]; a2 += staged[(i + 2u) & 1023u]; a3 += staged[(i + 3u) & 1023u];
  }
  done(wid, lid, a0 + a1 + a2 + a3);
}

fn texel(i: u32) -> vec4<f32> {
  return textureLoad(texels, vec2u(i % TEXTURE_WIDTH, i / TEXTURE_WIDTH), 0);
}

@compute @workgroup_size(64)
fn textureLoads(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  var a0 = vec4<f32>(0.0); var a1 = vec4<f32>(0.0); var a2 = vec4<f32>(0.0); var a3 = vec4<f32>(0.0);
  let b = base(wid, lid);
  for (var c = 0u; c < LOOP; c++) {
    let i = b + 4u * c;
    a0 += texel(i); a1 += texel(i + 1u); a2 += texel(i + 2u); a3 += texel(i + 3u);
  }
  done(wid, lid, a0 + a1 + a2 + a3);
}

/** 16 vec4 multiply-adds an iteration (4 chains of 4), no loads: the arithmetic the loads compete with. */
@compute @workgroup_size(64)
fn fmaOnly(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let m = vec4<f32>(0.999);
  let s = vec4<f32>(f32(lid) * 1e-3);
  var a0 = s; var a1 = s + 1.0; var a2 = s + 2.0; var a3 = s + 3.0;
  for (var c = 0u; c < LOOP; c++) {
    a0 = fma(a0, m, s); a1 = fma(a1, m, s); a2 = fma(a2, m, s); a3 = fma(a3, m, s);
    a0 = fma(a0, m, s); a1 = fma(a1, m, s); a2 = fma(a2, m, s); a3 = fma(a3, m, s);
    a0 = fma(a0, m, s); a1 = fma(a1, m, s); a2 = fma(a2, m, s); a3 = fma(a3, m, s);
    a0 = fma(a0, m, s); a1 = fma(a1, m, s); a2 = fma(a2, m, s); a3 = fma(a3, m, s);
  }
  done(wid, lid, a0 + a1 + a2 + a3);
}
