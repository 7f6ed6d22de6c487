/**
 * Room layouts of the `xland` family: a square grid with walls on its border, optionally cut into
 * two or four rooms by inner walls with one closed door in each wall segment (XLand-MiniGrid's R1,
 * R2 and R4 rooms). Cells are indexed y * size + x.
 */
import { IcrlError } from '../../core/errors.js';
import { COLOR, FLOOR_CODE, TILE, WALL_CODE, code } from './constants.js';

export type LayoutName = 'single' | 'two-rooms' | 'four-rooms';
export const LAYOUT_NAMES: readonly LayoutName[] = ['single', 'two-rooms', 'four-rooms'];

export interface Layout {
  name: LayoutName;
  size: number;
  /** size * size codes: walls, floor and doors (no objects). */
  cells: Uint8Array;
}

const DOOR_CODE = code(TILE.door_closed, COLOR.yellow);

/** Builds a layout; `size` must be at least 5 (single), 7 (two rooms) or 9 (four rooms). */
export function makeLayout(name: LayoutName, size: number): Layout {
  const min = name === 'single' ? 5 : name === 'two-rooms' ? 7 : 9;
  if (!Number.isInteger(size) || size < min || size > 64) throw new IcrlError(`xland: layout ${name} needs an integer size in [${min}, 64], got ${size}`);
  const s = size;
  const cells = new Uint8Array(s * s).fill(FLOOR_CODE);
  for (let k = 0; k < s; k++) {
    cells[k] = WALL_CODE;
    cells[(s - 1) * s + k] = WALL_CODE;
    cells[k * s] = WALL_CODE;
    cells[k * s + s - 1] = WALL_CODE;
  }
  const m = s >> 1;
  if (name !== 'single') {
    // vertical wall at x = m with a door halfway along each of its segments
    for (let y = 0; y < s; y++) cells[y * s + m] = WALL_CODE;
    if (name === 'two-rooms') cells[m * s + m] = DOOR_CODE;
    else {
      for (let x = 0; x < s; x++) cells[m * s + x] = WALL_CODE;
      const a = (1 + m - 1) >> 1; // middle of the segment 1..m-1
      const b = (m + 1 + s - 2) >> 1; // middle of m+1..s-2
      cells[a * s + m] = DOOR_CODE;
      cells[b * s + m] = DOOR_CODE;
      cells[m * s + a] = DOOR_CODE;
      cells[m * s + b] = DOOR_CODE;
    }
  }
  return { name, size: s, cells };
}

/** Cells of a layout that hold floor (where objects and the agent may be placed). */
export function floorCells(layout: Layout): number[] {
  const out: number[] = [];
  for (let c = 0; c < layout.cells.length; c++) if (layout.cells[c] === FLOOR_CODE) out.push(c);
  return out;
}
