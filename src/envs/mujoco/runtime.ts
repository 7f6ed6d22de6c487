/**
 * The MuJoCo runtime: one instance of the official MuJoCo WebAssembly module (npm package
 * `mujoco-js`, MuJoCo 3.3.8) per thread, loaded once, and the model files it compiles.
 *
 * WebAssembly instantiation is asynchronous while `EnvFamily.make` is synchronous, so the module is
 * loaded ahead: `await loadMujocoRuntime()` (or `await prepareFamily(name)` from `src/envs`) once at
 * startup, after which every MuJoCo family's `make` works synchronously. `make` before that raises an
 * error saying so. Loading takes about 0.35 s and ~100 MB of memory, which is why importing
 * `src/envs` does not do it for families that do not need it.
 *
 * Model files are read from disk and compiled once per process (`baseModel(file)`); a family that
 * changes masses, damping or friction copies the base model and edits the copy (`MjModel` copy
 * constructor + `mj_setConst`). A file MuJoCo refuses raises `MujocoModelError` naming the file and
 * quoting MuJoCo's message.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { IcrlError } from '../../core/errors.js';

/*
 * The parts of mujoco-js's API the project uses, typed here: the package's own .d.ts does not compile
 * under `tsc --strict` without skipLibCheck (it names an undeclared `Arguments`), and our published
 * declarations must not pull it into users' programs. Array fields are Float64Array views into the
 * module's memory; each read of one through the bindings makes a new view.
 */
/** A compiled MuJoCo model (mjModel). */
export interface MjModel {
  readonly nq: number;
  readonly nv: number;
  readonly nu: number;
  readonly nbody: number;
  readonly ngeom: number;
  readonly nmocap: number;
  readonly opt: { timestep: number };
  readonly body_mass: Float64Array;
  readonly body_inertia: Float64Array;
  readonly body_subtreemass: Float64Array;
  readonly dof_damping: Float64Array;
  readonly geom_friction: Float64Array;
  readonly geom_type: Int32Array;
  readonly geom_size: Float64Array;
  readonly geom_rgba: Float32Array;
  delete(): void;
}

/** The simulation state of one instance (mjData). */
export interface MjData {
  readonly qpos: Float64Array;
  readonly qvel: Float64Array;
  readonly ctrl: Float64Array;
  readonly xpos: Float64Array;
  readonly mocap_pos: Float64Array;
  readonly cfrc_ext: Float64Array;
  readonly geom_xpos: Float64Array;
  readonly geom_xmat: Float64Array;
  readonly time: number;
  delete(): void;
}

/** The loaded module: its file system, constructors and the mj_* functions used here. */
export interface MainModule {
  readonly FS: { writeFile(path: string, data: string): void; unlink(path: string): void };
  readonly MjModel: { new (m: MjModel): MjModel; loadFromXML(path: string): MjModel | null };
  readonly MjData: new (m: MjModel) => MjData;
  mj_step(m: MjModel, d: MjData): void;
  mj_forward(m: MjModel, d: MjData): void;
  mj_resetData(m: MjModel, d: MjData): void;
  mj_setConst(m: MjModel, d: MjData): void;
  mj_rnePostConstraint(m: MjModel, d: MjData): void;
  mj_versionString(): string;
}

/** MuJoCo refused a model file: `file` and MuJoCo's own message. */
export class MujocoModelError extends IcrlError {
  constructor(
    readonly file: string,
    readonly mujocoMessage: string,
  ) {
    super(`MuJoCo refused the model file ${file}: ${mujocoMessage}`);
    this.name = 'MujocoModelError';
  }
}

export interface MujocoRuntime {
  readonly mj: MainModule;
  /** MuJoCo's version string as the module reports it (e.g. "3.3.8"). */
  readonly version: string;
}

let runtime: MujocoRuntime | null = null;
let loading: Promise<MujocoRuntime> | null = null;
/** Lines the module printed since the last `takePrinted()` (MuJoCo reports XML errors this way). */
const printed: string[] = [];
/** MuJoCo warnings printed so far in this thread (bad qpos / qvel / qacc, full arena, ...). */
let warnings = 0;

/**
 * How many warnings MuJoCo has printed in this thread. MuJoCo prints a warning the first time it
 * happens in an `MjData` after its reset (later ones only count in `data.warning`), which is enough
 * for the environments: they reset an instance after any warning.
 */
export function mujocoWarningCount(): number {
  return warnings;
}

/** Loads the MuJoCo WebAssembly module once per thread; later calls return the same runtime. */
export function loadMujocoRuntime(): Promise<MujocoRuntime> {
  if (runtime) return Promise.resolve(runtime);
  if (!loading) {
    loading = (async () => {
      let factory: (arg?: Record<string, unknown>) => Promise<MainModule>;
      try {
        factory = (await import('mujoco-js')).default as unknown as typeof factory;
      } catch (e) {
        throw new IcrlError(`the MuJoCo families need the npm package mujoco-js (npm install mujoco-js): ${(e as Error).message}`);
      }
      // MuJoCo prints load errors and warnings; keep the last few for error messages, print nothing
      const keep = (s: string): void => {
        if (s.includes('WARNING')) warnings++;
        if (printed.length >= 64) printed.shift();
        printed.push(s);
      };
      const mj = await factory({ print: keep, printErr: keep });
      const v = mj.mj_versionString();
      runtime = { mj, version: v };
      return runtime;
    })();
    loading.catch(() => {
      loading = null;
    });
  }
  return loading;
}

/** True once `loadMujocoRuntime()` has finished in this thread. */
export function mujocoRuntimeLoaded(): boolean {
  return runtime !== null;
}

/** The loaded runtime; `who` (a family name) is named in the error when it is not loaded yet. */
export function mujocoRuntime(who: string): MujocoRuntime {
  if (!runtime) {
    throw new IcrlError(
      `${who}: the MuJoCo WebAssembly runtime is not loaded in this thread; call \`await loadMujocoRuntime()\` (or \`await prepareFamily('${who}')\`) from src/envs once before make()`,
    );
  }
  return runtime;
}

function takePrinted(): string {
  const s = printed
    .map((l) => l.trim())
    .filter((l) => l.length > 0)
    .join(' / ');
  printed.length = 0;
  return s;
}

/** Reads the NUL-terminated string at `ptr` of the module's memory (the memory behind `view`). */
function cString(view: ArrayBufferView, ptr: number): string {
  const mem = new Uint8Array(view.buffer);
  let end = ptr;
  while (end < mem.length && mem[end] !== 0 && end - ptr < 4096) end++;
  return new TextDecoder().decode(mem.subarray(ptr, end));
}

/** Directory of the model files shipped with the package (src/envs/mujoco/models, also from dist/). */
export function modelDir(): string {
  const candidates = [new URL('./models/', import.meta.url), new URL('../../../src/envs/mujoco/models/', import.meta.url)];
  for (const c of candidates) if (existsSync(c)) return fileURLToPath(c);
  throw new IcrlError(`the MuJoCo model files are missing (looked in ${candidates.map((c) => fileURLToPath(c)).join(' and ')})`);
}

/** Path of the shipped model file `name` (e.g. "half_cheetah.xml"). */
export function modelPath(name: string): string {
  return `${modelDir()}${name}`;
}

let fileCounter = 0;

/**
 * Compiles the MJCF text `xml` (read from `file`, named in errors). A model MuJoCo refuses raises a
 * `MujocoModelError` quoting MuJoCo's message (parse errors are printed by the module, compile errors
 * are thrown as C++ exceptions whose message we read from the module's memory).
 */
export function compileModel(rt: MujocoRuntime, xml: string, file: string): MjModel {
  const { mj } = rt;
  const vfsPath = `/icrl-model-${fileCounter++}.xml`;
  mj.FS.writeFile(vfsPath, xml);
  takePrinted();
  let model: MjModel | null;
  try {
    model = mj.MjModel.loadFromXML(vfsPath);
  } catch (e) {
    const err = e as { excPtr?: number; name?: string; message?: string };
    let msg = '';
    if (typeof err.excPtr === 'number') {
      // mjCError (the compiler's exception) starts with its message
      msg = exceptionText(rt, err.excPtr);
    }
    throw new MujocoModelError(file, (msg || takePrinted() || err.message || String(e)).trim());
  } finally {
    try {
      mj.FS.unlink(vfsPath);
    } catch {
      // already gone
    }
  }
  if (!model) throw new MujocoModelError(file, takePrinted() || 'mj_loadXML returned no model');
  takePrinted();
  return model;
}

/** The text of a C++ exception thrown by MuJoCo's compiler (an mjCError: message first). */
function exceptionText(rt: MujocoRuntime, ptr: number): string {
  const view = heapView(rt);
  return view ? cString(view, ptr) : '';
}

let heapModel: MjModel | null = null;

/** Any typed-array view of the module's memory (the module does not export HEAPU8; model arrays are views). */
function heapView(rt: MujocoRuntime): ArrayBufferView | null {
  if (!heapModel) {
    const xml = '<mujoco><worldbody><body><joint type="slide"/><geom type="sphere" size="1"/></body></worldbody></mujoco>';
    const p = '/icrl-heap-probe.xml';
    rt.mj.FS.writeFile(p, xml);
    heapModel = rt.mj.MjModel.loadFromXML(p);
  }
  return heapModel ? (heapModel.body_mass as Float64Array) : null;
}

const baseModels = new Map<string, MjModel>();

/** The compiled model of the shipped file `name`, compiled once per thread and shared (never edit it; copy it). */
export function baseModel(rt: MujocoRuntime, name: string): MjModel {
  let m = baseModels.get(name);
  if (!m) {
    const path = modelPath(name);
    let xml: string;
    try {
      xml = readFileSync(path, 'utf8');
    } catch (e) {
      throw new IcrlError(`cannot read the MuJoCo model file ${path}: ${(e as Error).message}`);
    }
    m = compileModel(rt, xml, path);
    baseModels.set(name, m);
  }
  return m;
}
