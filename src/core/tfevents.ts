/**
 * TensorBoard event files (`events.out.tfevents.*`), written without TensorFlow. A file is a sequence
 * of TFRecord records: the data length (uint64, little-endian), the masked CRC-32C of those 8 bytes
 * (uint32), the data, and the masked CRC-32C of the data. Each record is an `Event` protocol buffer
 * (tensorflow/core/util/event.proto): wall_time (field 1, double), step (2, int64), and either
 * file_version (3, string; the first record says "brain.Event:2") or a summary (5, `Summary`,
 * tensorflow/core/framework/summary.proto) whose values (1, repeated) carry a tag (1, string) and a
 * simple_value (2, float). That is all TensorBoard needs to draw scalar curves.
 */

/** The CRC-32C (Castagnoli) table, reflected polynomial 0x82f63b78. */
const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC-32C of bytes (crc32c("123456789") = 0xe3069283). */
export function crc32c(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** The TFRecord mask: rotate right by 15 bits and add 0xa282ead8 (mod 2^32). */
export function maskedCrc32c(bytes: Uint8Array): number {
  const c = crc32c(bytes);
  return (((c >>> 15) | (c << 17)) + 0xa282ead8) >>> 0;
}

/** A growable protobuf byte writer (only what Event and Summary use). */
class ProtoWriter {
  private buf = new Uint8Array(64);
  private n = 0;

  private ensure(k: number): void {
    if (this.n + k <= this.buf.length) return;
    const b = new Uint8Array(Math.max(this.buf.length * 2, this.n + k));
    b.set(this.buf.subarray(0, this.n));
    this.buf = b;
  }

  /** An unsigned varint (values up to 2^53). */
  varint(v: number): this {
    this.ensure(10);
    while (v >= 0x80) {
      this.buf[this.n++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    this.buf[this.n++] = v;
    return this;
  }

  tag(field: number, wire: number): this {
    return this.varint(field * 8 + wire);
  }

  double(field: number, v: number): this {
    this.tag(field, 1).ensure(8);
    new DataView(this.buf.buffer).setFloat64(this.n, v, true);
    this.n += 8;
    return this;
  }

  float(field: number, v: number): this {
    this.tag(field, 5).ensure(4);
    new DataView(this.buf.buffer).setFloat32(this.n, v, true);
    this.n += 4;
    return this;
  }

  int64(field: number, v: number): this {
    if (!Number.isSafeInteger(v) || v < 0) throw new RangeError(`tfevents: step ${v} is not a non-negative integer`);
    return this.tag(field, 0).varint(v);
  }

  bytes(field: number, b: Uint8Array): this {
    this.tag(field, 2).varint(b.length).ensure(b.length);
    this.buf.set(b, this.n);
    this.n += b.length;
    return this;
  }

  string(field: number, s: string): this {
    return this.bytes(field, new TextEncoder().encode(s));
  }

  finish(): Uint8Array {
    return this.buf.slice(0, this.n);
  }
}

/** One scalar of a summary. */
export interface ScalarValue {
  tag: string;
  value: number;
}

/** The bytes of an Event holding the file version (the first record of every event file). */
export function fileVersionEvent(wallTime: number): Uint8Array {
  return new ProtoWriter().double(1, wallTime).string(3, 'brain.Event:2').finish();
}

/** The bytes of an Event holding scalar summaries at `step`. */
export function scalarsEvent(wallTime: number, step: number, values: ScalarValue[]): Uint8Array {
  const summary = new ProtoWriter();
  for (const v of values) summary.bytes(1, new ProtoWriter().string(1, v.tag).float(2, v.value).finish());
  return new ProtoWriter().double(1, wallTime).int64(2, step).bytes(5, summary.finish()).finish();
}

/** One TFRecord: length, masked CRC of the length, data, masked CRC of the data. */
export function tfRecord(data: Uint8Array): Uint8Array {
  const out = new Uint8Array(8 + 4 + data.length + 4);
  const dv = new DataView(out.buffer);
  dv.setBigUint64(0, BigInt(data.length), true);
  dv.setUint32(8, maskedCrc32c(out.subarray(0, 8)), true);
  out.set(data, 12);
  dv.setUint32(12 + data.length, maskedCrc32c(data), true);
  return out;
}
