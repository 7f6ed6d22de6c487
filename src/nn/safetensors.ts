/**
 * safetensors files (https://github.com/huggingface/safetensors): an 8-byte little-endian header
 * length N, N bytes of JSON `{name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__":
 * {string: string}}` (offsets relative to the data section, which follows), then the raw data.
 * We write F32 (little-endian) and read F32, F16, BF16 and F64 (converted to float32).
 * Writes are atomic: a temporary file in the same directory, then a rename.
 *
 * Integrity: the files we write carry `__metadata__.sha256`, the SHA-256 of the header JSON
 * without that entry (as `JSON.stringify` writes it) followed by the data section. A reader that
 * finds it checks it (a {@link ChecksumError} names the file, expected and found digests), so a
 * flipped byte in the data or the header (a shape, an offset) is refused instead of read as other
 * numbers. Files of other tools have no such entry and are read unchecked. The reader's work is
 * bounded by the file's size: every tensor must lie inside the data section, and the metadata must
 * be strings.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ChecksumError, CorruptFileError, IcrlError, fsError } from '../core/errors.js';
import { sha256Bytes } from '../core/digest.js';
import { writeFileAtomic } from '../core/atomic.js';
import type { Module } from './modules.js';
import { Tensor } from './tensor.js';

export interface NamedArray {
  shape: readonly number[];
  data: Float32Array;
}

export interface SafetensorsFile {
  tensors: Map<string, NamedArray>;
  metadata: Record<string, string>;
}

const DTYPE_BYTES: Record<string, number> = { F32: 4, F16: 2, BF16: 2, F64: 8 };

/** The metadata key of the integrity digest. */
export const SAFETENSORS_SHA256_KEY = 'sha256';

/** The digest of a header object (without the digest entry) and its data section. */
function contentDigest(header: Record<string, unknown>, data: Uint8Array): string {
  const meta = header.__metadata__ as Record<string, string> | undefined;
  let h = header;
  if (meta && SAFETENSORS_SHA256_KEY in meta) {
    const { [SAFETENSORS_SHA256_KEY]: _d, ...rest } = meta;
    h = { ...header };
    if (Object.keys(rest).length > 0) h.__metadata__ = rest;
    else delete h.__metadata__;
  }
  return sha256Bytes(JSON.stringify(h), data);
}

/** Encodes tensors as a safetensors byte array. */
export function encodeSafetensors(tensors: Record<string, NamedArray | Tensor>, metadata: Record<string, string> = {}): Uint8Array {
  const header: Record<string, unknown> = {};
  const { [SAFETENSORS_SHA256_KEY]: _old, ...meta } = metadata;
  header.__metadata__ = meta; // first key, as other writers put it; removed below when empty
  if (Object.keys(meta).length === 0) delete header.__metadata__;
  let offset = 0;
  const entries = Object.entries(tensors);
  for (const [name, t] of entries) {
    if (name === '__metadata__') throw new IcrlError('safetensors: "__metadata__" is not a valid tensor name', 'CONFIG');
    const n = t.data.length;
    const size = t.shape.reduce((a, b) => a * b, 1);
    if (size !== n) throw new IcrlError(`safetensors: tensor "${name}" has ${n} values for shape [${t.shape.join(', ')}]`, 'NN_SHAPE');
    header[name] = { dtype: 'F32', shape: [...t.shape], data_offsets: [offset, offset + 4 * n] };
    offset += 4 * n;
  }
  const data = new Uint8Array(offset);
  const ddv = new DataView(data.buffer);
  let pos = 0;
  const little = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
  for (const [, t] of entries) {
    const src = t.data;
    if (little) data.set(new Uint8Array(src.buffer, src.byteOffset, src.byteLength), pos);
    else for (let i = 0; i < src.length; i++) ddv.setFloat32(pos + 4 * i, src[i], true);
    pos += src.byteLength;
  }
  const digest = contentDigest(header, data);
  const final: Record<string, unknown> = { __metadata__: { ...meta, [SAFETENSORS_SHA256_KEY]: digest } };
  for (const [k, v] of Object.entries(header)) if (k !== '__metadata__') final[k] = v;
  let json = JSON.stringify(final);
  while ((8 + Buffer.byteLength(json)) % 8 !== 0) json += ' ';
  const hbytes = Buffer.from(json, 'utf8');
  const out = new Uint8Array(8 + hbytes.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(hbytes.length), true);
  out.set(hbytes, 8);
  out.set(data, 8 + hbytes.length);
  return out;
}

/** Saves tensors to a safetensors file (atomically). */
export function saveSafetensors(file: string, tensors: Record<string, NamedArray | Tensor>, metadata: Record<string, string> = {}): void {
  writeFileAtomic(file, encodeSafetensors(tensors, metadata));
}

function f16(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return s * 2 ** -14 * (m / 1024);
  if (e === 31) return m ? NaN : s * Infinity;
  return s * 2 ** (e - 15) * (1 + m / 1024);
}

/** Parses a safetensors byte array; `file` names it in errors. */
export function decodeSafetensors(bytes: Uint8Array, file = '<bytes>'): SafetensorsFile {
  if (bytes.length < 8) throw new CorruptFileError(file, `safetensors file is ${bytes.length} bytes, shorter than its 8-byte header length`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = Number(dv.getBigUint64(0, true));
  if (n < 2 || n > bytes.length - 8) throw new CorruptFileError(file, `safetensors header claims ${n} bytes but the file has ${bytes.length - 8} after the length (truncated?)`);
  let header: Record<string, unknown>;
  try {
    // strict UTF-8: a lenient decoder would turn damaged bytes into U+FFFD and parse them
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + n))) as Record<string, unknown>;
  } catch (e) {
    throw new CorruptFileError(file, `safetensors header is not valid JSON (${(e as Error).message})`);
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) throw new CorruptFileError(file, 'safetensors header is not a JSON object');
  const dataStart = 8 + n;
  const dataLen = bytes.length - dataStart;
  const tensors = new Map<string, NamedArray>();
  let metadata: Record<string, string> = {};
  const meta = header.__metadata__;
  if (meta !== undefined) {
    if (meta === null || typeof meta !== 'object' || Array.isArray(meta) || !Object.values(meta).every((x) => typeof x === 'string'))
      throw new CorruptFileError(file, 'safetensors __metadata__ must be an object of strings');
    metadata = { ...(meta as Record<string, string>) };
  }
  for (const [name, v] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const e = v as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (!e || typeof e.dtype !== 'string' || !Array.isArray(e.shape) || !Array.isArray(e.data_offsets) || e.data_offsets.length !== 2)
      throw new CorruptFileError(file, `tensor "${name}": header entry needs dtype, shape and data_offsets`);
    const width = DTYPE_BYTES[e.dtype];
    if (!width) throw new CorruptFileError(file, `tensor "${name}" has dtype ${e.dtype}; supported: ${Object.keys(DTYPE_BYTES).join(', ')}`);
    const shape = e.shape as number[];
    if (shape.length > 16 || !shape.every((d) => Number.isSafeInteger(d) && d >= 0 && d <= dataLen)) throw new CorruptFileError(file, `tensor "${name}" has an invalid shape ${JSON.stringify(shape)}`);
    const [begin, end] = e.data_offsets as number[];
    const count = shape.reduce((a, b) => a * b, 1);
    if (!(Number.isInteger(begin) && Number.isInteger(end) && begin >= 0 && end >= begin)) throw new CorruptFileError(file, `tensor "${name}" has invalid data_offsets [${begin}, ${end}]`);
    if (!Number.isSafeInteger(count) || end - begin !== count * width) throw new CorruptFileError(file, `tensor "${name}": shape [${shape.join(', ')}] of ${e.dtype} needs ${count * width} bytes, data_offsets span ${end - begin}`);
    if (end > dataLen) throw new CorruptFileError(file, `tensor "${name}" ends at byte ${end} of the data section but the file holds only ${dataLen} (truncated)`);
    const data = new Float32Array(count);
    const base = dataStart + begin;
    for (let i = 0; i < count; i++) {
      const p = base + i * width;
      if (e.dtype === 'F32') data[i] = dv.getFloat32(p, true);
      else if (e.dtype === 'F64') data[i] = dv.getFloat64(p, true);
      else if (e.dtype === 'F16') data[i] = f16(dv.getUint16(p, true));
      else data[i] = new Float32Array(new Uint32Array([dv.getUint16(p, true) << 16]).buffer)[0];
    }
    tensors.set(name, { shape, data });
  }
  // the structure is sound (errors above name what is wrong); now the content
  const expected = metadata[SAFETENSORS_SHA256_KEY];
  // a damaged digest key would otherwise turn the check off unnoticed
  const stray = Object.keys(metadata).find((k) => k !== SAFETENSORS_SHA256_KEY && /^[0-9a-f]{64}$/.test(metadata[k]));
  if (stray !== undefined && expected === undefined) throw new CorruptFileError(file, `safetensors __metadata__ holds a SHA-256 under key ${JSON.stringify(stray)}, not "${SAFETENSORS_SHA256_KEY}" (damaged header)`);
  if (expected !== undefined) {
    const found = contentDigest(header, bytes.subarray(dataStart));
    if (found !== expected) throw new ChecksumError(file, expected, found, 'header and data');
    delete metadata[SAFETENSORS_SHA256_KEY];
  }
  return { tensors, metadata };
}

/** Reads a safetensors file. */
export function loadSafetensors(file: string): SafetensorsFile {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(file);
  } catch (e) {
    throw fsError(e, file, 'read');
  }
  return decodeSafetensors(bytes, file);
}

/** Saves a module's parameters (by path name) to a safetensors file. */
export function saveWeights(file: string, model: Module, metadata: Record<string, string> = {}): void {
  const tensors: Record<string, Tensor> = {};
  for (const [name, p] of model.namedParameters()) tensors[name] = p;
  saveSafetensors(file, tensors, metadata);
}

/**
 * Loads parameters saved by saveWeights into `model`. Every parameter must be present with its
 * exact shape (errors name the tensor); extra tensors in the file are an error unless `strict` is false.
 */
export function loadWeights(file: string, model: Module, opts: { strict?: boolean } = {}): Record<string, string> {
  const f = loadSafetensors(file);
  const params = model.namedParameters();
  for (const [name, p] of params) {
    const t = f.tensors.get(name);
    if (!t) throw new CorruptFileError(file, `tensor "${name}" missing (the model expects shape [${p.shape.join(', ')}])`);
    if (t.shape.length !== p.shape.length || t.shape.some((d, i) => d !== p.shape[i]))
      throw new CorruptFileError(file, `tensor "${name}" has shape [${t.shape.join(', ')}], the model expects [${p.shape.join(', ')}]`);
    // a model with NaN or infinite weights would only fail later, far from the cause
    const d = t.data;
    for (let k = 0; k < d.length; k++) if (!Number.isFinite(d[k])) throw new CorruptFileError(file, `tensor "${name}" holds ${d[k]} at index ${k}; weights must be finite`);
  }
  if (opts.strict !== false) {
    const names = new Set(params.map(([n]) => n));
    for (const n of f.tensors.keys()) if (!names.has(n)) throw new CorruptFileError(file, `tensor "${n}" is not a parameter of the model`);
  }
  for (const [name, p] of params) p.data.set(f.tensors.get(name)!.data);
  return f.metadata;
}

/** Saves `model.safetensors` and `config.json` into `dir` (both atomically). */
export function saveModel(dir: string, model: Module, config: unknown, metadata: Record<string, string> = {}): void {
  saveWeights(join(dir, 'model.safetensors'), model, metadata);
  writeFileAtomic(join(dir, 'config.json'), JSON.stringify(config, null, 2) + '\n');
}

/** Reads `config.json` of a directory written by saveModel. */
export function readModelConfig(dir: string): unknown {
  const file = join(dir, 'config.json');
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new IcrlError(`cannot read ${file}: ${(e as Error).message}`, 'IO');
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new CorruptFileError(file, `not valid JSON (${(e as Error).message})`);
  }
}

/** Loads the weights of a directory written by saveModel into `model`. */
export function loadModel(dir: string, model: Module): Record<string, string> {
  return loadWeights(join(dir, 'model.safetensors'), model);
}
