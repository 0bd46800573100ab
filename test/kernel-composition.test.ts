// Kernel sources composed from WGSL files: declared uniform layouts (the struct and its packing
// from one declaration), the joining of pieces, the workgroup size as an override in every
// kernel, and pipelines cached by code and constants rather than by label.

import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { kernel } from '../src/gpu/kernel';
import { uniforms } from '../src/gpu/uniforms';
import { testContext } from './helpers/gpu';

const SHADERS = join(__dirname, '../shaders');

describe('declared uniform layouts', () => {
  it('place members at WGSL offsets and emit the struct they pack', () => {
    const p = uniforms('Params', { count: 'u32', spatial: 'u32', mean: 'vec4<f32>', pad: 'i32', c: 'mat3x3<f32>', eps: 'f32' });
    expect(p.members.map((m) => [m.name, m.offset])).toEqual([['count', 0], ['spatial', 4], ['mean', 16], ['pad', 32], ['c', 48], ['eps', 96]]);
    expect(p.structBytes).toBe(112);
    expect(p.byteLength).toBe(112);
    expect(p.wgsl).toBe('struct Params {\n  count: u32,\n  spatial: u32,\n  mean: vec4<f32>,\n  pad: i32,\n  c: mat3x3<f32>,\n  eps: f32,\n}\n');
    const raw = p.pack({ count: 7, spatial: 3, mean: [0.5, 1, 2, 0], pad: -2, c: [1, 2, 3, 4, 5, 6, 7, 8, 9], eps: 1e-5 });
    const u = new Uint32Array(raw);
    const i = new Int32Array(raw);
    const f = new Float32Array(raw);
    expect([u[0], u[1], u[2], u[3]]).toEqual([7, 3, 0, 0]);
    expect(Array.from(f.subarray(4, 8))).toEqual([0.5, 1, 2, 0]);
    expect(i[8]).toBe(-2);
    // mat3x3 columns are vec3s padded to 16 bytes.
    expect(Array.from(f.subarray(12, 24))).toEqual([1, 2, 3, 0, 4, 5, 6, 0, 7, 8, 9, 0]);
    expect(f[24]).toBe(Math.fround(1e-5));
  });

  it('round a uniform buffer up to 16 bytes and refuse missing or mis-sized values', () => {
    const p = uniforms('Params', { count: 'u32' });
    expect(p.byteLength).toBe(16);
    expect(new Uint32Array(p.pack({ count: 5 }))).toEqual(new Uint32Array([5, 0, 0, 0]));
    expect(() => p.pack({} as { count: number })).toThrow(/Params\.count/);
    const v = uniforms('Params', { size: 'vec2<u32>' });
    expect(() => v.pack({ size: [1, 2, 3] })).toThrow(/vec2<u32> needs 2/);
  });
});

describe('kernel composition', () => {
  it('joins the struct and the pieces as they are, directives first', () => {
    const k = kernel('k', uniforms('Params', { n: 'u32' }), '// a\nfn a() {}', 'enable f16;\nfn b() {}');
    expect(k.code.split('\n')[0]).toBe('enable f16;');
    expect(k.code).toContain('struct Params {\n  n: u32,\n}');
    expect(k.code).toContain('// a\nfn a() {}');
    expect(k.code.indexOf('fn a')).toBeLessThan(k.code.indexOf('fn b'));
  });

  it('every kernel sizes its workgroups with the WG override, and no shader declares its own Params', () => {
    for (const file of readdirSync(SHADERS).filter((f) => f.endsWith('.wgsl'))) {
      const code = readFileSync(join(SHADERS, file), 'utf8');
      expect(code, file).toMatch(/^\/\/ /); // a header comment
      expect(code, file).toMatch(/@workgroup_size\(WG\)/);
      expect(code, file).toMatch(/override WG: u32 = \d+u;/);
      expect(code, file).not.toMatch(/struct Params/);
    }
  });

  it('caches modules by code and pipelines by code and constants, not by label', async () => {
    const ctx = await testContext();
    const body = (v: string) => `@group(0) @binding(0) var<storage, read_write> y: array<f32>;
override WG: u32 = 64u;
@compute @workgroup_size(WG) fn main(@builtin(global_invocation_id) g: vec3u) { if (g.x < arrayLength(&y)) { y[g.x] = ${v}; } }`;
    const one = kernel('same-label', null, body('1.0'));
    const two = kernel('same-label', null, body('2.0'));
    const before = ctx.pipelines.size;
    const p1 = ctx.pipelines.get(one, { WG: 64 });
    const p2 = ctx.pipelines.get(two, { WG: 64 });
    expect(p2).not.toBe(p1);
    expect(ctx.pipelines.get(kernel('another-label', null, body('1.0')), { WG: 64 })).toBe(p1);
    expect(ctx.pipelines.get(one, { WG: 32 })).not.toBe(p1);
    expect(ctx.pipelines.get(one, { WG: 64 })).toBe(p1);
    expect(ctx.pipelines.size - before).toBe(3);
    // Each writes its own constant: the second kernel really is the second code.
    const out = ctx.createStorageBuffer('composition test output', new Float32Array(2));
    const run = (pipeline: GPUComputePipeline) => ctx.run([{ label: 'composition test', pipeline, bindGroup: ctx.bindGroup('composition test', pipeline, [out]), workgroups: [1, 1, 1] }]);
    run(p2);
    const [values] = await ctx.readback([{ buffer: out, byteLength: 8 }]);
    expect(Array.from(values)).toEqual([2, 2]);
    out.destroy();
  });
});
