/**
 * Coloured pictures of xland states as SVG markup (self-contained strings, no script): floor and
 * walls as squares, each object tile as its own shape in its colour (ball: circle, square: square,
 * pyramid: triangle, key: a ring with a bit, star: five-pointed star, hex: hexagon, goal: a filled
 * cell, doors: a bar, open doors outlined), the agent as a red-outlined arrow head pointing its way,
 * its egocentric view as a dashed rectangle, and what it holds in a pocket box under the grid.
 * `xlandSvg` draws one state; `xlandEpisodeSvgs` plays an action sequence and draws every state.
 */
import { COLOR_NAMES, DIR_DX, DIR_DY, TILE, TILE_NAMES, codeName, tileOf, colorOf } from './constants.js';
import { CHANGED_CAPACITY, applyAction } from './core.js';
import { GOAL_INTS } from './ruleset.js';
import { checkInstance } from '../common.js';

/** Fill colour of each xland colour (XLand-MiniGrid's palette where it has one). */
export const COLOR_HEX: Record<string, string> = {
  red: '#e6194b',
  green: '#3cb44b',
  blue: '#4363d8',
  purple: '#911eb4',
  yellow: '#ffe119',
  grey: '#808080',
  black: '#000000',
  orange: '#f58231',
  white: '#f4f4f4',
  brown: '#9a6324',
  pink: '#f032e6',
};

const FLOOR_FILL = '#1e1e1e';
const WALL_FILL = '#7a7a7a';
const OUTSIDE_FILL = '#fafafa';

export interface SvgOptions {
  /** Pixels per cell (default 28). */
  cell?: number;
  /** Outline the agent's egocentric view (default true). */
  showView?: boolean;
  /** A caption drawn under the grid (escaped). */
  caption?: string;
}

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function fmt(v: number): string {
  return Number.isInteger(v) ? String(v) : v.toFixed(2);
}

function points(ps: [number, number][]): string {
  return ps.map(([x, y]) => `${fmt(x)},${fmt(y)}`).join(' ');
}

/** The shape of one object code centred in the cell at (x0, y0) of side s. */
function tileShape(c: number, x0: number, y0: number, s: number): string {
  const t = tileOf(c);
  const fill = COLOR_HEX[COLOR_NAMES[colorOf(c)]] ?? '#cccccc';
  const cx = x0 + s / 2;
  const cy = y0 + s / 2;
  const r = s * 0.34;
  const title = `<title>${esc(codeName(c))}</title>`;
  const stroke = 'stroke="#111" stroke-width="1"';
  switch (t) {
    case TILE.ball:
      return `<circle cx="${fmt(cx)}" cy="${fmt(cy)}" r="${fmt(r)}" fill="${fill}" ${stroke}>${title}</circle>`;
    case TILE.square:
      return `<rect x="${fmt(cx - r)}" y="${fmt(cy - r)}" width="${fmt(2 * r)}" height="${fmt(2 * r)}" fill="${fill}" ${stroke}>${title}</rect>`;
    case TILE.pyramid:
      return `<polygon points="${points([[cx, cy - r], [cx + r, cy + r * 0.85], [cx - r, cy + r * 0.85]])}" fill="${fill}" ${stroke}>${title}</polygon>`;
    case TILE.hex: {
      const ps: [number, number][] = [];
      for (let k = 0; k < 6; k++) ps.push([cx + r * Math.cos((Math.PI / 3) * k), cy + r * Math.sin((Math.PI / 3) * k)]);
      return `<polygon points="${points(ps)}" fill="${fill}" ${stroke}>${title}</polygon>`;
    }
    case TILE.star: {
      const ps: [number, number][] = [];
      for (let k = 0; k < 10; k++) {
        const a = -Math.PI / 2 + (Math.PI / 5) * k;
        const rr = k % 2 === 0 ? r * 1.1 : r * 0.45;
        ps.push([cx + rr * Math.cos(a), cy + rr * Math.sin(a)]);
      }
      return `<polygon points="${points(ps)}" fill="${fill}" ${stroke}>${title}</polygon>`;
    }
    case TILE.key:
      return `<g>${title}<circle cx="${fmt(cx - r * 0.45)}" cy="${fmt(cy)}" r="${fmt(r * 0.45)}" fill="none" stroke="${fill}" stroke-width="${fmt(s * 0.1)}"/><rect x="${fmt(cx)}" y="${fmt(cy - s * 0.05)}" width="${fmt(r)}" height="${fmt(s * 0.1)}" fill="${fill}"/><rect x="${fmt(cx + r * 0.6)}" y="${fmt(cy)}" width="${fmt(s * 0.08)}" height="${fmt(r * 0.5)}" fill="${fill}"/></g>`;
    case TILE.goal:
      return `<rect x="${fmt(x0 + 1)}" y="${fmt(y0 + 1)}" width="${fmt(s - 2)}" height="${fmt(s - 2)}" fill="${fill}">${title}</rect>`;
    case TILE.door_closed:
    case TILE.door_locked:
      return `<g>${title}<rect x="${fmt(x0 + 1)}" y="${fmt(y0 + 1)}" width="${fmt(s - 2)}" height="${fmt(s - 2)}" fill="${fill}"/>${t === TILE.door_locked ? `<rect x="${fmt(cx - s * 0.1)}" y="${fmt(cy - s * 0.1)}" width="${fmt(s * 0.2)}" height="${fmt(s * 0.2)}" fill="#111"/>` : `<line x1="${fmt(x0 + s * 0.75)}" y1="${fmt(cy - s * 0.15)}" x2="${fmt(x0 + s * 0.75)}" y2="${fmt(cy + s * 0.15)}" stroke="#111" stroke-width="2"/>`}</g>`;
    case TILE.door_open:
      return `<rect x="${fmt(x0 + 2)}" y="${fmt(y0 + 2)}" width="${fmt(s - 4)}" height="${fmt(s - 4)}" fill="none" stroke="${fill}" stroke-width="2">${title}</rect>`;
    default:
      return `<rect x="${fmt(x0 + 2)}" y="${fmt(y0 + 2)}" width="${fmt(s - 4)}" height="${fmt(s - 4)}" fill="#ccc">${title}</rect>`;
  }
}

/** The agent as an arrow head in cell (x0, y0) pointing in direction dir (0 up, 1 right, 2 down, 3 left). */
function agentShape(x0: number, y0: number, s: number, dir: number): string {
  const cx = x0 + s / 2;
  const cy = y0 + s / 2;
  const r = s * 0.38;
  const dx = DIR_DX[dir];
  const dy = DIR_DY[dir];
  // tip ahead, two back corners
  const tip: [number, number] = [cx + dx * r, cy + dy * r];
  const back: [number, number] = [cx - dx * r * 0.8, cy - dy * r * 0.8];
  const px = -dy;
  const py = dx;
  const a: [number, number] = [back[0] + px * r * 0.75, back[1] + py * r * 0.75];
  const b: [number, number] = [back[0] - px * r * 0.75, back[1] - py * r * 0.75];
  const names = ['up', 'right', 'down', 'left'];
  return `<polygon class="agent" data-dir="${names[dir]}" points="${points([tip, a, b])}" fill="#ff4d4d" stroke="#fff" stroke-width="1.5"><title>agent, facing ${names[dir]}</title></polygon>`;
}

/**
 * The egocentric view's rectangle in grid cells: V x V cells with the agent in the middle of the
 * row nearest to it (the bottom row of its view), extending ahead in its direction.
 */
function viewRect(ax: number, ay: number, dir: number, V: number): { x: number; y: number; w: number; h: number } {
  const half = (V - 1) / 2;
  switch (dir) {
    case 0:
      return { x: ax - half, y: ay - V + 1, w: V, h: V };
    case 1:
      return { x: ax, y: ay - half, w: V, h: V };
    case 2:
      return { x: ax - half, y: ay, w: V, h: V };
    default:
      return { x: ax - V + 1, y: ay - half, w: V, h: V };
  }
}

/** One state as arrays: the grid (size^2 codes from g0) and the agent (cell, direction, pocket from a0). */
export interface XLandState {
  grid: Uint8Array;
  g0: number;
  agent: Int32Array;
  a0: number;
  size: number;
  viewSize: number;
}

/** SVG of one state. */
export function stateSvg(st: XLandState, opts: SvgOptions = {}): string {
  const s = opts.cell ?? 28;
  const n = st.size;
  const pocketH = s + 8;
  const captionH = opts.caption ? 18 : 0;
  const W = n * s;
  const H = n * s + pocketH + captionH;
  const parts: string[] = [];
  parts.push(`<rect x="0" y="0" width="${W}" height="${H}" fill="${OUTSIDE_FILL}"/>`);
  for (let y = 0; y < n; y++) {
    for (let x = 0; x < n; x++) {
      const c = st.grid[st.g0 + y * n + x];
      const t = tileOf(c);
      const x0 = x * s;
      const y0 = y * s;
      parts.push(`<rect x="${x0}" y="${y0}" width="${s}" height="${s}" fill="${t === TILE.wall ? WALL_FILL : FLOOR_FILL}" stroke="#333" stroke-width="0.5"/>`);
      if (t !== TILE.wall && t !== TILE.floor && t < TILE_NAMES.length) parts.push(tileShape(c, x0, y0, s));
    }
  }
  const cell = st.agent[st.a0];
  const dir = st.agent[st.a0 + 1];
  const ax = cell % n;
  const ay = (cell / n) | 0;
  if (opts.showView ?? true) {
    const r = viewRect(ax, ay, dir, st.viewSize);
    // clipped to the grid (the part outside is end of map)
    const x1 = Math.max(0, r.x);
    const y1 = Math.max(0, r.y);
    const v = { x: x1, y: y1, w: Math.min(n, r.x + r.w) - x1, h: Math.min(n, r.y + r.h) - y1 };
    parts.push(`<rect class="view" x="${v.x * s + 1}" y="${v.y * s + 1}" width="${v.w * s - 2}" height="${v.h * s - 2}" fill="#ffffff" fill-opacity="0.08" stroke="#ffffff" stroke-width="1.5" stroke-dasharray="4 3"/>`);
  }
  parts.push(agentShape(ax * s, ay * s, s, dir));
  const pocket = st.agent[st.a0 + 2];
  const py = n * s + 4;
  parts.push(`<text x="4" y="${py + s * 0.65}" font-family="sans-serif" font-size="${Math.round(s * 0.45)}" fill="#222">holding:</text>`);
  const bx = Math.round(s * 2.6);
  parts.push(`<rect x="${bx}" y="${py}" width="${s}" height="${s}" fill="${FLOOR_FILL}" stroke="#333"/>`);
  if (pocket !== 0) parts.push(tileShape(pocket, bx, py, s));
  if (opts.caption) parts.push(`<text x="4" y="${H - 5}" font-family="sans-serif" font-size="12" fill="#222">${esc(opts.caption)}</text>`);
  return `<svg xmlns="http://www.w3.org/2000/svg" class="xland-grid" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}">${parts.join('')}</svg>`;
}

/** What the pictures read of a batched xland environment (BatchedXLand has all of it). */
export interface XLandView {
  readonly family: string;
  readonly numEnvs: number;
  readonly grid: Uint8Array;
  readonly pg: number;
  readonly pw: number;
  readonly agent: Int32Array;
  readonly options: { size: number };
  readonly viewSize: number;
  readonly rules: Uint8Array;
  readonly ruleStride: number;
  readonly numRules: Int32Array;
  readonly goal: Int32Array;
  readonly rewards: Float32Array;
  readonly terminated: Uint8Array;
  readonly truncated: Uint8Array;
  step(actions: Int32Array): void;
}

/** SVG of instance i's current state. */
export function xlandSvg(env: XLandView, i = 0, opts: SvgOptions = {}): string {
  return stateSvg({ grid: env.grid, g0: i * env.pg, agent: env.agent, a0: i * 3, size: env.options.size, viewSize: env.viewSize }, opts);
}

const ACTION_LABELS = ['forward', 'turn right', 'turn left', 'pick up', 'put down', 'toggle'];

/**
 * Plays `actions` on instance i from its current state and returns the SVG of every state: the
 * start, then one picture after each action (captioned with the step, the action and the reward),
 * up to the end of the episode (its last state is drawn before the automatic reset). The instance
 * is left where the actions took it (a new episode when the episode ended).
 */
export function xlandEpisodeSvgs(env: XLandView, actions: ArrayLike<number>, i = 0, opts: SvgOptions = {}): string[] {
  checkInstance(env.family, i, env.numEnvs);
  const pg = env.pg;
  const out = [xlandSvg(env, i, { ...opts, caption: 'start' })];
  const acts = new Int32Array(env.numEnvs);
  const changed = new Int32Array(CHANGED_CAPACITY);
  for (let k = 0; k < actions.length; k++) {
    // the state after the action, computed on copies (the step below may reset the instance)
    const g = env.grid.slice(i * pg, (i + 1) * pg);
    const a = Int32Array.from(env.agent.subarray(i * 3, i * 3 + 3));
    applyAction(g, 0, a, 0, actions[k], env.rules, i * env.ruleStride, env.numRules[i], env.goal, i * GOAL_INTS, env.pw, changed);
    acts[i] = actions[k];
    env.step(acts);
    const r = env.rewards[i];
    const ended = env.terminated[i] === 1 ? ' (goal)' : env.truncated[i] === 1 ? ' (time out)' : '';
    const caption = `step ${k + 1}: ${ACTION_LABELS[actions[k]] ?? actions[k]}${r !== 0 ? `, reward ${r.toFixed(3)}` : ''}${ended}`;
    out.push(stateSvg({ grid: g, g0: 0, agent: a, a0: 0, size: env.options.size, viewSize: env.viewSize }, { ...opts, caption }));
    if (ended) break;
  }
  return out;
}
