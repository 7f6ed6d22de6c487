/**
 * The transition function of the `xland` family, over one instance's grid (one byte per cell, row
 * y * width + x; the room has walls on its border, so the agent and every cell that can change have
 * all four neighbours inside the grid). The batched environment and the exact solver both step
 * through `applyAction`, so the solver plans on exactly the dynamics the agent plays.
 *
 * Agent state (3 ints at a0): cell (index in the grid), direction (0 up, 1 right, 2 down, 3 left), pocket
 * (a code; 0 = empty). `changed[0]` counts the cells written in the step, listed in changed[1..].
 */
import { FLOOR_CODE, NUM_COLORS, PICKABLE, TILE, WALKABLE, code } from './constants.js';
import { GOAL_ID, RULE_ID, RULE_INTS } from './ruleset.js';

const R_AGENT_HOLD = RULE_ID.AgentHold;
const R_AGENT_NEAR = RULE_ID.AgentNear;
const R_AGENT_NEAR_UP = RULE_ID.AgentNearUp;
const R_AGENT_NEAR_LEFT = RULE_ID.AgentNearLeft;
const R_TILE_NEAR = RULE_ID.TileNear;
const R_TILE_NEAR_UP = RULE_ID.TileNearUp;
const G_AGENT_HOLD = GOAL_ID.AgentHold;
const G_AGENT_ON_TILE = GOAL_ID.AgentOnTile;
const G_AGENT_NEAR = GOAL_ID.AgentNear;
const G_AGENT_NEAR_UP = GOAL_ID.AgentNearUp;
const G_AGENT_NEAR_LEFT = GOAL_ID.AgentNearLeft;
const G_TILE_NEAR = GOAL_ID.TileNear;
const G_TILE_NEAR_UP = GOAL_ID.TileNearUp;
const G_TILE_NEAR_LEFT = GOAL_ID.TileNearLeft;
const G_TILE_ON_POSITION = GOAL_ID.TileOnPosition;
const G_AGENT_ON_POSITION = GOAL_ID.AgentOnPosition;

const DOOR_LOCKED = TILE.door_locked;
const DOOR_CLOSED = TILE.door_closed;
const DOOR_OPEN = TILE.door_open;
const KEY = TILE.key;

export const GOAL_REACHED = 1;
export const VIEW_CHANGED = 2;

/** Capacity of a `changed` list (1 count + cells). */
export const CHANGED_CAPACITY = 257;

/** Offset of the neighbouring cell in direction d (0 up, 1 right, 2 down, 3 left) in a grid of width pw. */
export function dirOffset(d: number, pw: number): number {
  return (d & 1) === 1 ? 2 - d : (d - 1) * pw;
}

function push(changed: Int32Array, c: number): void {
  const n = changed[0];
  if (n < CHANGED_CAPACITY - 1) {
    changed[n + 1] = c;
    changed[0] = n + 1;
  }
}

/**
 * Applies `action` to one instance, then, if the agent moved, its pocket changed or a cell changed,
 * its rules in order (each once) and its goal (a turn, or an action without effect, fires nothing).
 * Returns GOAL_REACHED | VIEW_CHANGED flags: bit 0 when the goal holds after the step, bit 1 when
 * the agent moved or turned or a cell changed (otherwise the observation is the same as before).
 */
export function applyAction(
  grid: Uint8Array,
  g0: number,
  agent: Int32Array,
  a0: number,
  action: number,
  rules: Uint8Array,
  r0: number,
  numRules: number,
  goal: Int32Array,
  q0: number,
  pw: number,
  changed: Int32Array,
): number {
  let pos = agent[a0];
  let dir = agent[a0 + 1];
  let pocket = agent[a0 + 2];
  changed[0] = 0;
  const ahead = pos + dirOffset(dir, pw);
  switch (action) {
    case 0:
      if (WALKABLE[grid[g0 + ahead]] === 1) pos = ahead;
      break;
    case 1:
      dir = (dir + 1) & 3;
      break;
    case 2:
      dir = (dir + 3) & 3;
      break;
    case 3: {
      const t = grid[g0 + ahead];
      if (pocket === 0 && PICKABLE[t] === 1) {
        pocket = t;
        grid[g0 + ahead] = FLOOR_CODE;
        push(changed, ahead);
      }
      break;
    }
    case 4:
      if (pocket !== 0 && grid[g0 + ahead] === FLOOR_CODE) {
        grid[g0 + ahead] = pocket;
        pocket = 0;
        push(changed, ahead);
      }
      break;
    default: {
      const t = grid[g0 + ahead];
      const tile = (t / NUM_COLORS) | 0;
      const col = t - tile * NUM_COLORS;
      if (tile === DOOR_CLOSED || (tile === DOOR_LOCKED && pocket === code(KEY, col))) {
        grid[g0 + ahead] = code(DOOR_OPEN, col);
        push(changed, ahead);
      } else if (tile === DOOR_OPEN) {
        grid[g0 + ahead] = code(DOOR_CLOSED, col);
        push(changed, ahead);
      }
    }
  }
  if (pos === agent[a0] && pocket === agent[a0 + 2] && changed[0] === 0) {
    // nothing happened but (maybe) a turn: no rule can fire and the goal cannot become true
    const turned = dir !== agent[a0 + 1] ? VIEW_CHANGED : 0;
    agent[a0 + 1] = dir;
    return turned;
  }
  for (let k = 0; k < numRules; k++) {
    const o = r0 + k * RULE_INTS;
    const kind = rules[o];
    const A = rules[o + 1];
    const P = rules[o + 3];
    if (kind === R_AGENT_HOLD) {
      if (pocket === A) pocket = P === FLOOR_CODE ? 0 : P;
    } else if (kind === R_AGENT_NEAR) {
      for (let d = 0; d < 4; d++) {
        const n = pos + dirOffset(d, pw);
        if (grid[g0 + n] === A) {
          grid[g0 + n] = P;
          push(changed, n);
        }
      }
    } else if (kind >= R_AGENT_NEAR_UP && kind <= R_AGENT_NEAR_LEFT) {
      const n = pos + dirOffset(kind - R_AGENT_NEAR_UP, pw);
      if (grid[g0 + n] === A) {
        grid[g0 + n] = P;
        push(changed, n);
      }
    } else {
      // TileNear and its directional forms: look around the cells changed so far in this step
      const B = rules[o + 2];
      const m = changed[0];
      for (let j = 1; j <= m; j++) {
        const c = changed[j];
        const t = grid[g0 + c];
        if (t !== A && t !== B) continue;
        let n = -1;
        if (kind === R_TILE_NEAR) {
          const other = t === A ? B : A;
          for (let d = 0; d < 4; d++) {
            const q = c + dirOffset(d, pw);
            if (grid[g0 + q] === other) {
              n = q;
              break;
            }
          }
        } else {
          const off = dirOffset(kind - R_TILE_NEAR_UP, pw);
          // b must be on side d of a
          if (t === A && grid[g0 + c + off] === B) n = c + off;
          else if (t === B && grid[g0 + c - off] === A) n = c - off;
        }
        if (n >= 0) {
          grid[g0 + n] = P;
          grid[g0 + c] = FLOOR_CODE;
          push(changed, n);
        }
      }
    }
  }
  const moved = pos !== agent[a0] || dir !== agent[a0 + 1] || changed[0] !== 0 ? VIEW_CHANGED : 0;
  agent[a0] = pos;
  agent[a0 + 1] = dir;
  agent[a0 + 2] = pocket;
  return moved | checkGoal(grid, g0, pos, pocket, goal, q0, pw, changed);
}

/** 1 when the goal of the instance holds after a step (TileNear goals look at the cells changed in it). */
function checkGoal(grid: Uint8Array, g0: number, pos: number, pocket: number, goal: Int32Array, q0: number, pw: number, changed: Int32Array): number {
  const gk = goal[q0];
  const GA = goal[q0 + 1];
  if (gk === G_AGENT_HOLD) return pocket === GA ? 1 : 0;
  if (gk === G_AGENT_ON_TILE) return grid[g0 + pos] === GA ? 1 : 0;
  if (gk === G_AGENT_NEAR) {
    return grid[g0 + pos - pw] === GA || grid[g0 + pos + 1] === GA || grid[g0 + pos + pw] === GA || grid[g0 + pos - 1] === GA ? 1 : 0;
  }
  if (gk >= G_AGENT_NEAR_UP && gk <= G_AGENT_NEAR_LEFT) return grid[g0 + pos + dirOffset(gk - G_AGENT_NEAR_UP, pw)] === GA ? 1 : 0;
  if (gk >= G_TILE_NEAR && gk <= G_TILE_NEAR_LEFT) {
    const GB = goal[q0 + 2];
    const m = changed[0];
    for (let j = 1; j <= m; j++) {
      const c = changed[j];
      const t = grid[g0 + c];
      if (t !== GA && t !== GB) continue;
      if (gk === G_TILE_NEAR) {
        const other = t === GA ? GB : GA;
        if (grid[g0 + c - pw] === other || grid[g0 + c + 1] === other || grid[g0 + c + pw] === other || grid[g0 + c - 1] === other) return 1;
      } else {
        const off = dirOffset(gk - G_TILE_NEAR_UP, pw);
        if (t === GA && grid[g0 + c + off] === GB) return 1;
        if (t === GB && grid[g0 + c - off] === GA) return 1;
      }
    }
    return 0;
  }
  if (gk === G_TILE_ON_POSITION) return grid[g0 + goal[q0 + 3]] === GA ? 1 : 0;
  if (gk === G_AGENT_ON_POSITION) return pos === goal[q0 + 3] ? 1 : 0;
  return 0;
}

/**
 * The grid cell seen in each cell of the egocentric view, for every agent cell and direction:
 * entry (cell * 4 + dir) * V^2 + row * V + column, with row 0 the farthest ahead and the agent at row
 * V - 1, column (V - 1) / 2, facing up; cells outside the grid map to size^2 (an end-of-map cell).
 */
export function viewTable(viewSize: number, size: number): Int16Array | Int32Array {
  const V = viewSize;
  const V2 = V * V;
  const h = (V - 1) >> 1;
  const DX = [0, 1, 0, -1];
  const DY = [-1, 0, 1, 0];
  const n = size * size;
  const out = n < 32767 ? new Int16Array(n * 4 * V2) : new Int32Array(n * 4 * V2);
  for (let c = 0; c < n; c++) {
    const ax = c % size;
    const ay = Math.floor(c / size);
    for (let d = 0; d < 4; d++) {
      const fx = DX[d];
      const fy = DY[d];
      const rx = DX[(d + 1) & 3];
      const ry = DY[(d + 1) & 3];
      for (let r = 0; r < V; r++) {
        for (let k = 0; k < V; k++) {
          const fwd = V - 1 - r;
          const lat = k - h;
          const x = ax + fx * fwd + rx * lat;
          const y = ay + fy * fwd + ry * lat;
          out[(c * 4 + d) * V2 + r * V + k] = x >= 0 && x < size && y >= 0 && y < size ? y * size + x : n;
        }
      }
    }
  }
  return out;
}
