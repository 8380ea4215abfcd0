/**
 * The protobuf wire format, as far as Kubernetes' gogo-generated messages use it: varints,
 * length-delimited bytes, and fixed 32/64-bit values (no groups, no zigzag). Reading yields the
 * raw fields of one message; giving them meaning is the schema-driven decoder's job.
 */

/** Wire types (the low three bits of a field key). */
export const WireType = { Varint: 0, Fixed64: 1, Bytes: 2, Fixed32: 5 } as const;

/** One field occurrence: its number and its undecoded payload. */
export type WireField =
  | { number: number; wireType: typeof WireType.Varint; value: bigint }
  | { number: number; wireType: typeof WireType.Fixed64 | typeof WireType.Fixed32 | typeof WireType.Bytes; bytes: Buffer };

/** Malformed protobuf input (truncated data, unknown wire type, overlong varint). */
export class WireError extends Error {
  override name = 'WireError';
}

/** A cursor over one message's bytes. */
export class Reader {
  private pos = 0;

  constructor(private readonly buf: Buffer) {}

  get done(): boolean {
    return this.pos >= this.buf.length;
  }

  /** An unsigned varint of up to 64 bits; callers reinterpret it (int32/int64 are two's complement). */
  varint(): bigint {
    let result = 0n;
    for (let shift = 0n; shift < 70n; shift += 7n) {
      if (this.pos >= this.buf.length) throw new WireError('unexpected end of data in varint');
      const b = this.buf[this.pos++];
      result |= BigInt(b & 0x7f) << shift;
      if (b < 0x80) return BigInt.asUintN(64, result);
    }
    throw new WireError('varint longer than 10 bytes');
  }

  take(n: number): Buffer {
    if (n < 0 || this.pos + n > this.buf.length) throw new WireError('unexpected end of data');
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  field(): WireField {
    const key = this.varint();
    const number = Number(key >> 3n);
    const wireType = Number(key & 7n);
    if (number === 0) throw new WireError('field number 0 is invalid');
    switch (wireType) {
      case WireType.Varint:
        return { number, wireType, value: this.varint() };
      case WireType.Fixed64:
        return { number, wireType, bytes: this.take(8) };
      case WireType.Fixed32:
        return { number, wireType, bytes: this.take(4) };
      case WireType.Bytes: {
        const len = this.varint();
        if (len > BigInt(this.buf.length)) throw new WireError('length-delimited field longer than the data');
        return { number, wireType, bytes: this.take(Number(len)) };
      }
      default:
        throw new WireError(`unsupported wire type ${wireType} for field ${number}`);
    }
  }
}

/** Every field of one message, in wire order (repeated fields appear once per element). */
export function* readFields(buf: Buffer): Generator<WireField> {
  const r = new Reader(buf);
  while (!r.done) yield r.field();
}

/** True for a field carrying its type's zero value (gogo writes non-pointer fields even when zero). */
export function isZeroField(f: WireField): boolean {
  if (f.wireType === WireType.Varint) return f.value === 0n;
  return f.bytes.length === 0 || (f.wireType !== WireType.Bytes && f.bytes.every((b) => b === 0));
}

/** The varints of a packed repeated scalar field. */
export function readPackedVarints(buf: Buffer): bigint[] {
  const r = new Reader(buf);
  const out: bigint[] = [];
  while (!r.done) out.push(r.varint());
  return out;
}
