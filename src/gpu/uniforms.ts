// Uniform layouts, declared once: the WGSL struct a kernel reads and the bytes its dispatch writes
// both follow from one list of (name, type), so the two cannot drift (as ONNX Runtime's WebGPU
// programs declare their uniforms and emit the struct). The offsets are WGSL's: each member at the
// next multiple of its alignment, the struct rounded up to its alignment, and a uniform buffer to
// 16 bytes. The same declaration serves a struct kept in a storage array (affine-resample's
// per-image geometry): there the rounded size is the array's stride.

export type UniformType = 'u32' | 'i32' | 'f32' | 'vec2<u32>' | 'vec4<i32>' | 'vec4<f32>' | 'mat3x3<f32>';

/**
 * WGSL's alignment and size of each type, and its components: how many, and whether they are
 * f32 (a mat3x3<f32> is three vec3 columns, each padded to 16 bytes).
 */
const TYPES: Record<UniformType, { align: number; size: number; count: number; kind: 'u32' | 'i32' | 'f32' }> = {
  u32: { align: 4, size: 4, count: 1, kind: 'u32' },
  i32: { align: 4, size: 4, count: 1, kind: 'i32' },
  f32: { align: 4, size: 4, count: 1, kind: 'f32' },
  'vec2<u32>': { align: 8, size: 8, count: 2, kind: 'u32' },
  'vec4<i32>': { align: 16, size: 16, count: 4, kind: 'i32' },
  'vec4<f32>': { align: 16, size: 16, count: 4, kind: 'f32' },
  'mat3x3<f32>': { align: 16, size: 48, count: 9, kind: 'f32' },
};

export type UniformFields = Record<string, UniformType>;

/** The values of a layout's members: a number per scalar, one per component of a vector, 9 (column-major) per mat3x3. */
export type UniformValues<F extends UniformFields> = {
  [K in keyof F]: F[K] extends 'u32' | 'i32' | 'f32' ? number : ArrayLike<number>;
};

export class UniformLayout<F extends UniformFields = UniformFields> {
  /** Each member with its byte offset, in declaration order. */
  readonly members: { name: string; type: UniformType; offset: number }[] = [];
  /** Bytes of the struct (its size rounded up to its alignment: the stride of an array of it). */
  readonly structBytes: number;
  /** Bytes of a uniform buffer holding it (structBytes rounded up to 16). */
  readonly byteLength: number;
  /** The struct's declaration, emitted into the shader. */
  readonly wgsl: string;

  constructor(readonly structName: string, fields: F) {
    let offset = 0;
    let align = 4;
    for (const [name, type] of Object.entries(fields)) {
      const t = TYPES[type];
      if (!t) throw new Error(`uniform ${structName}.${name}: unsupported type '${type}'`);
      offset = Math.ceil(offset / t.align) * t.align;
      this.members.push({ name, type, offset });
      offset += t.size;
      align = Math.max(align, t.align);
    }
    this.structBytes = Math.ceil(offset / align) * align;
    this.byteLength = Math.max(16, Math.ceil(this.structBytes / 16) * 16);
    this.wgsl = `struct ${structName} {\n${this.members.map((m) => `  ${m.name}: ${m.type},\n`).join('')}}\n`;
  }

  /** The buffer's bytes for these values (little-endian, padding zeroed). */
  pack(values: UniformValues<F>): ArrayBuffer {
    const raw = new ArrayBuffer(this.byteLength);
    this.write(new DataView(raw), 0, values);
    return raw;
  }

  /** Write these values as the struct at byteOffset of `view` (an element of a storage array). */
  write(view: DataView, byteOffset: number, values: UniformValues<F>): void {
    for (const { name, type, offset } of this.members) {
      const v = (values as Record<string, number | ArrayLike<number>>)[name];
      const t = TYPES[type];
      const components = typeof v === 'number' ? [v] : v;
      if (components?.length !== t.count) throw new Error(`uniform ${this.structName}.${name}: ${type} needs ${t.count} number(s)`);
      for (let i = 0; i < t.count; i++) {
        // Column c of a mat3x3 starts at 16c; vector components are 4 bytes apart.
        const at = byteOffset + offset + (type === 'mat3x3<f32>' ? 16 * Math.floor(i / 3) + 4 * (i % 3) : 4 * i);
        if (t.kind === 'u32') view.setUint32(at, components[i], true);
        else if (t.kind === 'i32') view.setInt32(at, components[i], true);
        else view.setFloat32(at, components[i], true);
      }
    }
  }
}

/** Declare a uniform struct: `uniforms('Params', { count: 'u32', eps: 'f32' })`. */
export function uniforms<F extends UniformFields>(structName: string, fields: F): UniformLayout<F> {
  return new UniformLayout(structName, fields);
}
