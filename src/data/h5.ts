/**
 * Thin layer over h5wasm (HDF5 compiled to WebAssembly, Node build with direct file access, so reads
 * stream from disk through HDF5's chunk cache instead of loading whole files). It adds what the
 * high-level h5wasm API lacks: reading float16 datasets (XLand-100B stores rewards as float16) and
 * h5py's boolean enum, short error messages naming the file, group and dataset, and atomic writes.
 *
 * Limitation (h5wasm 0.10): datasets can only be *created* with integer, float32/float64 and string
 * types; float16 and enum (h5py bool) types can be read but not written. Our writers therefore store
 * rewards as float32 and dones as uint8; readers accept both forms.
 */
import h5wasm from 'h5wasm/node';
import { existsSync } from 'node:fs';
import { CorruptFileError, FileSystemError, IcrlError } from '../core/errors.js';
import { replaceAtomic } from '../core/atomic.js';
import { memoryBudget } from '../core/limits.js';

export type H5File = InstanceType<typeof h5wasm.File>;
export type H5Group = InstanceType<typeof h5wasm.Group>;
export type H5Dataset = InstanceType<typeof h5wasm.Dataset>;

interface RawModule {
  HEAPU8: Uint8Array;
  _malloc(n: number): number;
  _free(p: number): void;
  get_dataset_data(fileId: bigint, path: string, count: bigint[] | null, offset: bigint[] | null, strides: bigint[] | null, ptr: bigint): number;
  activate_throwing_error_handler(): void;
}

let modulePromise: Promise<RawModule> | null = null;
let mod: RawModule | null = null;

/** Initializes h5wasm once (idempotent). All other functions of this module need it. */
export async function h5ready(): Promise<void> {
  if (!modulePromise) {
    modulePromise = (h5wasm.ready as unknown as Promise<RawModule>).then((m) => {
      // Turn HDF5's diagnostic printing into exceptions we can summarize.
      m.activate_throwing_error_handler();
      mod = m;
      return m;
    });
  }
  await modulePromise;
}

function M(): RawModule {
  if (!mod) throw new IcrlError('HDF5 is not initialized: await h5ready() first');
  return mod;
}

/** The innermost reason of an HDF5 error stack (e.g. "truncated file: eof = 8616, ..."). */
export function summarizeH5Error(e: unknown): string {
  const text = e instanceof Error ? e.message : String(e);
  const reasons = [...text.matchAll(/in [\w.]+\(\): ([^\n]+)/g)].map((m) => m[1].trim());
  if (reasons.length > 0) return reasons[reasons.length - 1];
  const first = text.split('\n')[0];
  return first.length > 300 ? `${first.slice(0, 300)}...` : first;
}

/** Opens an HDF5 file for reading; a missing, truncated or corrupt file gets a {@link CorruptFileError} naming it. */
export function openRead(file: string, context = ''): H5File {
  M();
  if (!existsSync(file)) throw new IcrlError(`${file}: file not found`);
  let f: H5File;
  try {
    f = new h5wasm.File(file, 'r');
  } catch (e) {
    throw new CorruptFileError(file, `cannot open as HDF5 (truncated or corrupt)${context ? `; ${context}` : ''}: ${summarizeH5Error(e)}`);
  }
  if (typeof f.file_id !== 'bigint' || f.file_id < 0n) {
    throw new CorruptFileError(file, `cannot open as HDF5 (truncated or corrupt)${context ? `; ${context}` : ''}`);
  }
  return f;
}

/**
 * Creates `file` through a temporary name; `fill` writes its content; on success the temporary file
 * is renamed over `file` (atomic on one file system), on failure it is removed.
 */
export function writeAtomic(file: string, fill: (f: H5File) => void): void {
  M();
  replaceAtomic(file, (tmp) => {
    let f: H5File;
    try {
      f = new h5wasm.File(tmp, 'w');
    } catch (e) {
      throw h5WriteError(file, e);
    }
    let failure: unknown = null;
    try {
      fill(f);
    } catch (e) {
      failure = e;
    }
    try {
      f.close();
    } catch (e) {
      failure ??= e;
    }
    if (failure !== null) throw failure instanceof IcrlError ? failure : h5WriteError(file, failure);
  });
}

const SYSTEM_MESSAGES: [RegExp, string, string][] = [
  [/No space left on device/i, 'ENOSPC', 'no space left on the device'],
  [/Read-only file system/i, 'EROFS', 'read-only file system'],
  [/Permission denied/i, 'EACCES', 'permission denied'],
  [/Disk quota exceeded/i, 'EDQUOT', 'disk quota exceeded'],
  [/Is a directory/i, 'EISDIR', 'is a folder, expected a file'],
];

/** An HDF5 error stack of a write as one named error (the system's reason when HDF5 quotes one). */
function h5WriteError(file: string, e: unknown): IcrlError {
  const text = e instanceof Error ? e.message : String(e);
  const sys = /error message = '([^']+)'/.exec(text)?.[1] ?? text;
  for (const [re, code, hint] of SYSTEM_MESSAGES) if (re.test(sys)) return new FileSystemError(file, 'write', code, hint);
  return new IcrlError(`cannot write ${file} (HDF5): ${summarizeH5Error(e)}`, 'H5_WRITE');
}

export type Slice = [number, number][];

/** Float16 bits to number (IEEE 754 half precision). */
export function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m === 0 ? s * Infinity : NaN;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

/** Number to float16 bits, round to nearest even (for writing test fixtures and checks). */
export function floatToHalf(x: number): number {
  const f32 = new Float32Array([x]);
  const u = new Uint32Array(f32.buffer)[0];
  const sign = (u >>> 16) & 0x8000;
  const exp = (u >>> 23) & 0xff;
  let mant = u & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  let e = exp - 127 + 15;
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let hm = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    if (rem > half || (rem === half && hm & 1)) hm++;
    return sign | hm;
  }
  let hm = mant >>> 13;
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && hm & 1)) {
    hm++;
    if (hm === 0x400) {
      hm = 0;
      e++;
      if (e >= 31) return sign | 0x7c00;
    }
  }
  return sign | (e << 10) | hm;
}

export interface DatasetInfo {
  shape: number[];
  /** 'int' | 'uint' | 'float' | 'enum-bool' | other class names. */
  kind: string;
  size: number;
}

interface Meta {
  type: number;
  size: number;
  signed: boolean;
  shape: number[] | null;
  enum_type?: { type: number; members: Record<string, number> };
}

export function datasetInfo(d: H5Dataset): DatasetInfo {
  const md = d.metadata as unknown as Meta;
  let kind = 'other';
  if (md.type === 0) kind = md.signed ? 'int' : 'uint';
  else if (md.type === 1) kind = 'float';
  else if (md.type === 8) {
    const m = md.enum_type?.members ?? {};
    kind = Object.keys(m).length === 2 && m.FALSE === 0 && m.TRUE === 1 ? 'enum-bool' : 'enum';
  }
  return { shape: md.shape ?? [], kind, size: md.size };
}

/**
 * Reads a hyperslab (one [start, stop) range per dimension; missing trailing dimensions are whole)
 * as raw little-endian bytes, whatever the element type. Only the chunks the slice touches are read.
 */
export function readRaw(d: H5Dataset, ranges: Slice = []): { bytes: Uint8Array; count: number[]; info: DatasetInfo } {
  const m = M();
  const info = datasetInfo(d);
  const shape = info.shape;
  const count: number[] = [];
  const offset: number[] = [];
  for (let k = 0; k < shape.length; k++) {
    const r = ranges[k];
    const start = r ? r[0] : 0;
    const stop = r ? Math.min(r[1], shape[k]) : shape[k];
    if (!(start >= 0 && start <= stop)) throw new IcrlError(`${d.path}: slice ${k}: [${r?.[0]}, ${r?.[1]}) is outside [0, ${shape[k]})`, 'H5_RANGE');
    offset.push(start);
    count.push(stop - start);
  }
  const total = count.reduce((a, b) => a * b, 1);
  const nbytes = total * info.size;
  // a corrupt header can claim any shape: refuse what could not be allocated instead of trying
  if (!(Number.isSafeInteger(nbytes) && nbytes >= 0 && nbytes <= Math.min(memoryBudget(), 2 ** 31))) {
    throw new CorruptFileError(`dataset ${d.path}`, `a read of shape [${count.join(', ')}] x ${info.size} bytes (${nbytes} bytes) is more than one read may take; the file is corrupt, or read it in smaller ranges`);
  }
  const bytes = new Uint8Array(nbytes);
  if (nbytes === 0) return { bytes, count, info };
  const ptr = m._malloc(nbytes);
  try {
    m.get_dataset_data(d.file_id, d.path, count.map(BigInt), offset.map(BigInt), count.map(() => 1n), BigInt(ptr));
    bytes.set(m.HEAPU8.subarray(ptr, ptr + nbytes));
  } finally {
    m._free(ptr);
  }
  return { bytes, count, info };
}

/** Decodes raw bytes of a numeric dataset into a Float32Array (float16/32/64 and integers). */
export function bytesToFloat32(bytes: Uint8Array, info: DatasetInfo): Float32Array {
  const n = bytes.length / info.size;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (info.kind === 'float' && info.size === 4) return new Float32Array(bytes.slice().buffer);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = readScalar(dv, i, info);
  return out;
}

/** Decodes raw bytes of an integer, boolean or float dataset into an Int32Array. */
export function bytesToInt32(bytes: Uint8Array, info: DatasetInfo): Int32Array {
  const n = bytes.length / info.size;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) out[i] = readScalar(dv, i, info);
  return out;
}

/** Decodes into a Uint8Array of 0/1 (booleans) or raw uint8 values. */
export function bytesToUint8(bytes: Uint8Array, info: DatasetInfo): Uint8Array {
  if (info.size === 1) return bytes.slice();
  const n = bytes.length / info.size;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = readScalar(dv, i, info);
  return out;
}

function readScalar(dv: DataView, i: number, info: DatasetInfo): number {
  const s = info.size;
  const o = i * s;
  if (info.kind === 'float') {
    if (s === 2) return halfToFloat(dv.getUint16(o, true));
    if (s === 4) return dv.getFloat32(o, true);
    return dv.getFloat64(o, true);
  }
  const signed = info.kind === 'int' || info.kind === 'enum-bool' || info.kind === 'enum';
  if (s === 1) return signed ? dv.getInt8(o) : dv.getUint8(o);
  if (s === 2) return signed ? dv.getInt16(o, true) : dv.getUint16(o, true);
  if (s === 4) return signed ? dv.getInt32(o, true) : dv.getUint32(o, true);
  return Number(signed ? dv.getBigInt64(o, true) : dv.getBigUint64(o, true));
}

/** Attribute value as a plain JS value (bigint to number). */
export function attrValue(obj: H5Group | H5Dataset, name: string): string | number | undefined {
  const a = obj.attrs[name];
  if (!a) return undefined;
  const v = a.value as unknown;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'number' || typeof v === 'string') return v;
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (ArrayBuffer.isView(v) && (v as unknown as ArrayLike<number>).length === 1) return Number((v as unknown as ArrayLike<number>)[0]);
  return String(v);
}

/** Writes an integer attribute as int64 (h5py reads numpy.int64, as XLand-100B's ids). */
export function setIntAttr(obj: H5Group, name: string, value: number): void {
  obj.create_attribute(name, value, [], '<q');
}

/** Creates a chunked dataset, gzip-compressed at `level` (0 = uncompressed). */
export function createDataset(
  g: H5Group,
  name: string,
  data: Uint8Array | Int32Array | Float32Array | Uint16Array,
  shape: number[],
  dtype: '<B' | '<H' | '<i' | '<f',
  chunks: number[],
  level = 6,
): void {
  if (level > 0) g.create_dataset({ name, data, shape, dtype, chunks, compression: 'gzip', compression_opts: level });
  else g.create_dataset({ name, data, shape, dtype, chunks });
}
