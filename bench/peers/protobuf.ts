// A minimal protobuf writer: enough to encode an ONNX ModelProto by hand. Wire types used:
// 0 (varint: int32/int64/enum), 2 (length-delimited: string, bytes, nested message), 5 (fixed32: float).
// Fields are written in the order the caller adds them; repeated scalars unpacked (ONNX's .proto is
// proto2, where unpacked is the default; parsers accept both).

export class ProtoWriter {
  private chunks: Uint8Array[] = [];
  private length = 0;

  private push(bytes: Uint8Array): void {
    this.chunks.push(bytes);
    this.length += bytes.length;
  }

  private varint(value: bigint | number): void {
    let v = BigInt(value);
    if (v < 0n) v += 1n << 64n; // negative int64: ten bytes of two's complement
    const out: number[] = [];
    while (v >= 0x80n) {
      out.push(Number(v & 0x7fn) | 0x80);
      v >>= 7n;
    }
    out.push(Number(v));
    this.push(Uint8Array.from(out));
  }

  private tag(field: number, wireType: 0 | 1 | 2 | 5): void {
    this.varint((field << 3) | wireType);
  }

  /** int32, int64, uint64, bool, enum. */
  int(field: number, value: number | bigint): this {
    this.tag(field, 0);
    this.varint(value);
    return this;
  }

  ints(field: number, values: readonly (number | bigint)[]): this {
    for (const v of values) this.int(field, v);
    return this;
  }

  float(field: number, value: number): this {
    this.tag(field, 5);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, value, true);
    this.push(b);
    return this;
  }

  bytes(field: number, value: Uint8Array): this {
    this.tag(field, 2);
    this.varint(value.length);
    this.push(value);
    return this;
  }

  string(field: number, value: string): this {
    return this.bytes(field, new TextEncoder().encode(value));
  }

  message(field: number, build: (w: ProtoWriter) => void): this {
    const inner = new ProtoWriter();
    build(inner);
    return this.bytes(field, inner.finish());
  }

  finish(): Uint8Array {
    const out = new Uint8Array(this.length);
    let at = 0;
    for (const c of this.chunks) {
      out.set(c, at);
      at += c.length;
    }
    return out;
  }
}

/** Read back the fields of one message level (for tests and sanity checks): [field, wireType, value]. */
export function readFields(bytes: Uint8Array): [number, number, bigint | Uint8Array][] {
  const fields: [number, number, bigint | Uint8Array][] = [];
  let at = 0;
  const varint = (): bigint => {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      if (at >= bytes.length) throw new Error('truncated varint');
      const b = bytes[at++];
      result |= BigInt(b & 0x7f) << shift;
      if (!(b & 0x80)) return result;
      shift += 7n;
    }
  };
  while (at < bytes.length) {
    const key = Number(varint());
    const field = key >> 3;
    const wire = key & 7;
    if (wire === 0) fields.push([field, wire, varint()]);
    else if (wire === 2) {
      const n = Number(varint());
      fields.push([field, wire, bytes.subarray(at, at + n)]);
      at += n;
    } else if (wire === 5) {
      fields.push([field, wire, bytes.slice(at, at + 4)]);
      at += 4;
    } else if (wire === 1) {
      fields.push([field, wire, bytes.slice(at, at + 8)]);
      at += 8;
    } else throw new Error(`unsupported wire type ${wire}`);
  }
  return fields;
}
