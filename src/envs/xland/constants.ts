/**
 * Tiles, colours, codes and directions of the `xland` family. The numbering is XLand-MiniGrid's
 * (tiles 0..14, colours 0..13), so that a cell encoded as `tile * NUM_COLORS + colour` (one byte,
 * at most 209) is the value XLand-100B stores in its `states` datasets.
 */

export const TILE_NAMES = [
  'empty',
  'end_of_map',
  'unseen',
  'floor',
  'wall',
  'ball',
  'square',
  'pyramid',
  'goal',
  'key',
  'door_locked',
  'door_closed',
  'door_open',
  'hex',
  'star',
] as const;
export type TileName = (typeof TILE_NAMES)[number];

export const COLOR_NAMES = ['empty', 'end_of_map', 'unseen', 'red', 'green', 'blue', 'purple', 'yellow', 'grey', 'black', 'orange', 'white', 'brown', 'pink'] as const;
export type ColorName = (typeof COLOR_NAMES)[number];

export const NUM_TILES = TILE_NAMES.length;
export const NUM_COLORS = COLOR_NAMES.length;

export const TILE = Object.fromEntries(TILE_NAMES.map((n, i) => [n, i])) as Record<TileName, number>;
export const COLOR = Object.fromEntries(COLOR_NAMES.map((n, i) => [n, i])) as Record<ColorName, number>;

/** The 7 object tiles a ruleset may name (the first 6 can be picked up; `goal` can be stood on). */
export const OBJECT_TILES = ['ball', 'square', 'pyramid', 'key', 'star', 'hex', 'goal'] as const;
export type ObjectTileName = (typeof OBJECT_TILES)[number];
export const PICKABLE_TILES = ['ball', 'square', 'pyramid', 'key', 'star', 'hex'] as const;
/** The 10 colours objects come in. */
export const OBJECT_COLORS = ['red', 'green', 'blue', 'purple', 'yellow', 'grey', 'white', 'brown', 'pink', 'orange'] as const;
export type ObjectColorName = (typeof OBJECT_COLORS)[number];

/** One-byte cell code: tile * NUM_COLORS + colour. */
export function code(tile: number, color: number): number {
  return tile * NUM_COLORS + color;
}
export function tileOf(c: number): number {
  return (c / NUM_COLORS) | 0;
}
export function colorOf(c: number): number {
  return c % NUM_COLORS;
}

/** Code of an empty pocket (tile empty, colour empty). */
export const EMPTY_CODE = 0;
export const FLOOR_CODE = code(TILE.floor, COLOR.black);
export const WALL_CODE = code(TILE.wall, COLOR.grey);
export const END_OF_MAP_CODE = code(TILE.end_of_map, COLOR.end_of_map);

/** Per code: 1 when the agent can step onto it (floor, goal, open door). */
export const WALKABLE = new Uint8Array(256);
/** Per code: 1 when it can be picked up (ball, square, pyramid, key, star, hex). */
export const PICKABLE = new Uint8Array(256);
for (let t = 0; t < NUM_TILES; t++) {
  for (let c = 0; c < NUM_COLORS; c++) {
    const k = code(t, c);
    WALKABLE[k] = t === TILE.floor || t === TILE.goal || t === TILE.door_open ? 1 : 0;
    PICKABLE[k] = t === TILE.ball || t === TILE.square || t === TILE.pyramid || t === TILE.key || t === TILE.star || t === TILE.hex ? 1 : 0;
  }
}

/** Directions: 0 up (y - 1), 1 right (x + 1), 2 down (y + 1), 3 left (x - 1). */
export const DIRECTION_NAMES = ['up', 'right', 'down', 'left'] as const;
export const DIR_DX = Int32Array.from([0, 1, 0, -1]);
export const DIR_DY = Int32Array.from([-1, 0, 1, 0]);

/** Actions, in XLand-MiniGrid's order. */
export const ACTION_NAMES = ['forward', 'turn_right', 'turn_left', 'pick_up', 'put_down', 'toggle'] as const;
export const NUM_ACTIONS = 6;

/** Short name of a code, e.g. "red ball", "floor", "wall". */
export function codeName(c: number): string {
  const t = tileOf(c);
  const col = colorOf(c);
  if (t >= NUM_TILES || col >= NUM_COLORS) return `code ${c}`;
  const tn = TILE_NAMES[t];
  if (t === TILE.floor || t === TILE.wall || t === TILE.empty || t === TILE.end_of_map || t === TILE.unseen) return tn;
  return `${COLOR_NAMES[col]} ${tn}`;
}
