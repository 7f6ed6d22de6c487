/**
 * A small viewer for the MuJoCo families: records one episode of an instance (the world position and
 * orientation of every geom at every step) and draws it as an animated side or top view in a
 * self-contained HTML page (a canvas and a few lines of script; no network, no GPU). Geoms are
 * projected orthographically: capsules as thick segments with round ends, spheres as discs, boxes
 * and cylinders as the outline of their projected corners, planes as the ground line (side view) or
 * the table rectangle (top view).
 */
import { IcrlError } from '../../core/errors.js';
import { Rng } from '../../core/rng.js';
import type { MujocoEnv } from './base.js';

/** MuJoCo's geom type codes (mjtGeom). */
export const GEOM = { plane: 0, hfield: 1, sphere: 2, capsule: 3, ellipsoid: 4, cylinder: 5, box: 6, mesh: 7 } as const;

export type View = 'side' | 'top';
export type Policy = 'zero' | 'random' | 'expert';

/** The model's geoms: type, size (3) and colour (4) each. */
export interface GeomInfo {
  type: number[];
  size: number[];
  rgba: number[];
}

/** One recorded episode: per frame, geom positions (ngeom x 3) and rotation matrices (ngeom x 9). */
export interface Recording {
  family: string;
  task: unknown;
  policy: Policy;
  geoms: GeomInfo;
  frames: { xpos: number[]; xmat: number[] }[];
  rewards: number[];
  /** Return of the episode, and how it ended. */
  ret: number;
  ended: 'terminated' | 'truncated' | 'blew up' | 'running';
}

/** A projected shape in view coordinates (metres; y up). */
export type Shape =
  | { kind: 'segment'; x1: number; y1: number; x2: number; y2: number; width: number; color: string }
  | { kind: 'disc'; x: number; y: number; r: number; color: string }
  | { kind: 'polygon'; points: [number, number][]; color: string }
  | { kind: 'ground'; y: number; x0: number; x1: number; color: string };

function color(rgba: number[], g: number): string {
  const c = (k: number): number => Math.round(255 * Math.min(1, Math.max(0, rgba[4 * g + k])));
  return `rgba(${c(0)},${c(1)},${c(2)},${rgba[4 * g + 3].toFixed(2)})`;
}

/** (horizontal, vertical) of a world point in a view: side = (x, z), top = (x, y). */
function proj(view: View, x: number, y: number, z: number): [number, number] {
  return view === 'side' ? [x, z] : [x, y];
}

/** Convex hull (monotone chain) of 2-D points. */
function hull(pts: [number, number][]): [number, number][] {
  const p = [...pts].sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const cross = (o: [number, number], a: [number, number], b: [number, number]): number => (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0]);
  const lower: [number, number][] = [];
  for (const q of p) {
    while (lower.length >= 2 && cross(lower[lower.length - 2], lower[lower.length - 1], q) <= 0) lower.pop();
    lower.push(q);
  }
  const upper: [number, number][] = [];
  for (let k = p.length - 1; k >= 0; k--) {
    const q = p[k];
    while (upper.length >= 2 && cross(upper[upper.length - 2], upper[upper.length - 1], q) <= 0) upper.pop();
    upper.push(q);
  }
  return [...lower.slice(0, -1), ...upper.slice(0, -1)];
}

/** The shapes of one frame, in drawing order (planes first). */
export function projectFrame(geoms: GeomInfo, xpos: ArrayLike<number>, xmat: ArrayLike<number>, view: View): Shape[] {
  const out: Shape[] = [];
  const n = geoms.type.length;
  for (let pass = 0; pass < 2; pass++) {
    for (let g = 0; g < n; g++) {
      const t = geoms.type[g];
      if ((t === GEOM.plane) !== (pass === 0)) continue;
      const px = xpos[3 * g];
      const py = xpos[3 * g + 1];
      const pz = xpos[3 * g + 2];
      const s0 = geoms.size[3 * g];
      const s1 = geoms.size[3 * g + 1];
      const s2 = geoms.size[3 * g + 2];
      const R = (r: number, c: number): number => xmat[9 * g + 3 * r + c];
      const col = color(geoms.rgba, g);
      if (t === GEOM.plane) {
        if (view === 'side') out.push({ kind: 'ground', y: pz, x0: px - s0, x1: px + s0, color: col });
        else out.push({ kind: 'polygon', points: [[px - s0, py - s1], [px + s0, py - s1], [px + s0, py + s1], [px - s0, py + s1]], color: col });
      } else if (t === GEOM.sphere) {
        const [x, y] = proj(view, px, py, pz);
        out.push({ kind: 'disc', x, y, r: s0, color: col });
      } else if (t === GEOM.capsule) {
        // the capsule's axis is its local z; size = (radius, half-length)
        const [x1, y1] = proj(view, px - R(0, 2) * s1, py - R(1, 2) * s1, pz - R(2, 2) * s1);
        const [x2, y2] = proj(view, px + R(0, 2) * s1, py + R(1, 2) * s1, pz + R(2, 2) * s1);
        out.push({ kind: 'segment', x1, y1, x2, y2, width: 2 * s0, color: col });
      } else if (t === GEOM.box || t === GEOM.cylinder || t === GEOM.ellipsoid) {
        const h = t === GEOM.cylinder ? [s0, s0, s1] : [s0, s1, s2];
        const pts: [number, number][] = [];
        for (const a of [-1, 1]) for (const b of [-1, 1]) for (const c of [-1, 1]) {
          const lx = a * h[0];
          const ly = b * h[1];
          const lz = c * h[2];
          pts.push(proj(view, px + R(0, 0) * lx + R(0, 1) * ly + R(0, 2) * lz, py + R(1, 0) * lx + R(1, 1) * ly + R(1, 2) * lz, pz + R(2, 0) * lx + R(2, 1) * ly + R(2, 2) * lz));
        }
        out.push({ kind: 'polygon', points: hull(pts), color: col });
      }
    }
  }
  return out;
}

/** Records one episode of instance 0 of `env` under `policy` (at most `steps` steps; stops at its end). */
export function recordEpisode(env: MujocoEnv, policy: Policy, steps: number, seed = 0): Recording {
  if (policy === 'expert' && typeof (env as unknown as { expertAction?: unknown }).expertAction !== 'function') {
    throw new IcrlError(`${env.family}: no scripted expert (policy "expert" exists for reach and push); use zero or random`);
  }
  env.reset(seed);
  const { model } = env.instance(0);
  const geoms: GeomInfo = { type: Array.from(model.geom_type), size: Array.from(model.geom_size), rgba: Array.from(model.geom_rgba) };
  const rng = new Rng(seed).split('viewer-actions');
  const a = new Float32Array(env.numEnvs * env.actDim);
  const out = new Float32Array(env.actDim);
  const frames: Recording['frames'] = [];
  const rewards: number[] = [];
  const snap = (): void => {
    const d = env.instance(0).data;
    frames.push({ xpos: Array.from(d.geom_xpos, (v) => Math.round(v * 1e4) / 1e4), xmat: Array.from(d.geom_xmat, (v) => Math.round(v * 1e4) / 1e4) });
  };
  snap();
  let ended: Recording['ended'] = 'running';
  for (let s = 0; s < steps; s++) {
    if (policy === 'random') for (let k = 0; k < a.length; k++) a[k] = rng.uniformRange(-1, 1);
    else if (policy === 'expert') {
      for (let i = 0; i < env.numEnvs; i++) {
        (env as unknown as { expertAction(i: number, o: Float32Array): void }).expertAction(i, out);
        a.set(out, i * env.actDim);
      }
    }
    env.step(a);
    rewards.push(env.rewards[0]);
    if (env.terminated[0] || env.truncated[0]) {
      ended = env.blewUp[0] ? 'blew up' : env.terminated[0] ? 'terminated' : 'truncated';
      break;
    }
    snap();
  }
  return { family: env.family, task: env.getTask(0).params, policy, geoms, frames, rewards, ret: rewards.reduce((x, y) => x + y, 0), ended };
}

/** A self-contained HTML page that plays the recording (projected with `view`) on a canvas, `fps` frames per second. */
export function recordingHtml(rec: Recording, view: View, fps: number): string {
  const shapes = rec.frames.map((f) => projectFrame(rec.geoms, f.xpos, f.xmat, view));
  const title = `${rec.family} - ${JSON.stringify(rec.task)} - ${rec.policy} actions`;
  const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');
  const data = JSON.stringify({ shapes, rewards: rec.rewards, fps, view }).replace(/</g, '\\u003c');
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>${esc(title)}</title>
<style>body{font:14px sans-serif;margin:16px;color:#222}canvas{border:1px solid #ccc;background:#f8f8f8}</style></head>
<body><h3>${esc(title)}</h3>
<p>${rec.frames.length} frames, return ${rec.ret.toFixed(2)}, episode ${rec.ended}. ${view === 'side' ? 'Side view (x right, z up)' : 'Top view (x right, y up)'}, the camera follows the bodies.</p>
<canvas id="c" width="900" height="420"></canvas>
<p><button id="p">pause</button> frame <span id="f">0</span>, reward <span id="r">-</span></p>
<script>
const D = ${data};
const cv = document.getElementById('c'), cx = cv.getContext('2d');
let i = 0, playing = true;
document.getElementById('p').onclick = () => { playing = !playing; document.getElementById('p').textContent = playing ? 'pause' : 'play'; };
const all = D.shapes.flat().filter((s) => s.kind !== 'ground');
const xs = [], ys = [];
for (const s of all) { if (s.kind === 'segment') { xs.push(s.x1, s.x2); ys.push(s.y1, s.y2); } else if (s.kind === 'disc') { xs.push(s.x); ys.push(s.y); } else if (s.kind === 'polygon') for (const p of s.points) { xs.push(p[0]); ys.push(p[1]); } }
const spanY = Math.max(0.3, Math.max(...ys) - Math.min(...ys, 0));
const scale = Math.min(380 / (spanY * 1.2), 300);
function centre(sh) { let sx = 0, n = 0; for (const s of sh) { if (s.kind === 'segment') { sx += s.x1 + s.x2; n += 2; } else if (s.kind === 'disc') { sx += s.x; n++; } } return n ? sx / n : 0; }
function draw() {
  const sh = D.shapes[i], c0 = D.view === 'side' ? centre(sh) : 0, y0 = D.view === 'side' ? Math.min(...ys, 0) - 0.05 * spanY : (Math.min(...ys) + Math.max(...ys)) / 2 - 190 / scale;
  const X = (x) => 450 + (x - c0) * scale, Y = (y) => 400 - (y - y0) * scale;
  cx.clearRect(0, 0, cv.width, cv.height);
  for (const s of sh) {
    cx.fillStyle = cx.strokeStyle = s.color;
    if (s.kind === 'ground') { cx.lineWidth = 2; cx.beginPath(); cx.moveTo(0, Y(s.y)); cx.lineTo(900, Y(s.y)); cx.stroke(); for (let t = Math.floor(c0 - 2); t <= c0 + 2; t += 0.5) { cx.fillRect(X(t) - 1, Y(s.y), 2, 8); } }
    else if (s.kind === 'segment') { cx.lineWidth = Math.max(1, s.width * scale); cx.lineCap = 'round'; cx.beginPath(); cx.moveTo(X(s.x1), Y(s.y1)); cx.lineTo(X(s.x2), Y(s.y2)); cx.stroke(); }
    else if (s.kind === 'disc') { cx.beginPath(); cx.arc(X(s.x), Y(s.y), Math.max(1, s.r * scale), 0, 2 * Math.PI); cx.fill(); }
    else { cx.beginPath(); s.points.forEach((p, k) => k ? cx.lineTo(X(p[0]), Y(p[1])) : cx.moveTo(X(p[0]), Y(p[1]))); cx.closePath(); cx.fill(); }
  }
  document.getElementById('f').textContent = String(i);
  document.getElementById('r').textContent = i > 0 ? D.rewards[i - 1].toFixed(3) : '-';
  window.__icrlEpisode.drawn++;
  window.__icrlEpisode.frame = i;
}
// for automated checks (a headless browser): frames in the recording, frames drawn so far, the last one drawn
window.__icrlEpisode = { frames: D.shapes.length, drawn: 0, frame: 0 };
setInterval(() => { if (playing) { draw(); i = (i + 1) % D.shapes.length; } }, 1000 / D.fps);
draw();
</script></body></html>
`;
}
