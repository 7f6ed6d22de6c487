/**
 * Training windows read from the history store on demand, for contexts too long (or collections too
 * large) to hold every history in memory (`data.ad.read: stream`, docs/long-context.md).
 *
 * An index of the collection's streams (one per history of every group: file, group, run, length,
 * task) is built from the groups' metadata alone; no step is read until a window is asked for. A
 * window of L steps starting at step `start` of a stream is one hyperslab read per dataset
 * (observations, actions, rewards, dones) of steps [start - 1, start + L) of that run (the step
 * before the window gives the first token its previous action and reward); HDF5 decompresses only
 * the chunks (1 x 4096 steps, src/data/store.ts) the range touches. What stays in memory is the index
 * (a few numbers per stream), the open shard files, and the window being read, whatever the size of
 * the collection: with chunks of 4,096 steps a window of L steps touches at most ceil(L / 4096) + 1
 * chunks per dataset.
 *
 * Streams come in the order `buildAdDataset` lays out the same histories in memory (groups by task
 * index, then runs), so a sampler that draws (stream, start) pairs gets the same windows either way.
 */
import { IcrlError } from '../core/errors.js';
import type { Task } from '../tasks/taskSpace.js';
import type { HistoryReader } from './store.js';

/** One history of the index: where it is and how long. */
export interface WindowStream {
  reader: HistoryReader;
  group: string;
  /** Run (history) within its group. */
  run: number;
  length: number;
  taskIndex: number;
  task?: Task;
}

/** A window as read: steps [first, start + L) of one stream, the window starting at `offset`. */
export interface StreamWindow {
  observations: Float32Array;
  actions: Int32Array | Float32Array;
  rewards: Float32Array;
  dones: Uint8Array;
  /** Index, within the arrays, of the window's first step (1 when the step before it was read, else 0). */
  offset: number;
  /** Whether the window's first step has a previous step in its stream (start > 0). */
  hasPrev: boolean;
}

/** The streams of a set of history files, read window by window. */
export class HistoryWindows {
  readonly obsDim: number;
  readonly numActions: number;
  readonly actDim: number;

  private constructor(
    readonly streams: WindowStream[],
    private readonly readers: HistoryReader[],
    dims: { obsDim: number; numActions: number; actDim: number },
  ) {
    this.obsDim = dims.obsDim;
    this.numActions = dims.numActions;
    this.actDim = dims.actDim;
  }

  /**
   * Indexes the groups of open readers (only their metadata is read). Every group must be of our
   * layout and have the observation and action sizes of the first one (the error names the file
   * and group). The readers are closed by {@link close}.
   */
  static index(files: { reader: HistoryReader; groups: string[] }[]): HistoryWindows {
    const entries: { reader: HistoryReader; group: string; numHistories: number; length: number; taskIndex: number; task?: Task }[] = [];
    let dims: { obsDim: number; numActions: number; actDim: number; where: string } | null = null;
    for (const { reader, groups } of files) {
      for (const g of groups) {
        const info = reader.info(g);
        if (info.layout !== 'icrl') throw new IcrlError(`${reader.file}: group "${g}" is in the XLand-100B layout; streamed training windows read the icrl layout`);
        const where = `${reader.file}, group "${g}"`;
        if (!dims) dims = { obsDim: info.obsDim, numActions: info.numActions, actDim: info.actDim, where };
        else if (info.obsDim !== dims.obsDim || info.numActions !== dims.numActions || info.actDim !== dims.actDim)
          throw new IcrlError(`${where}: obsDim/numActions/actDim ${info.obsDim}/${info.numActions}/${info.actDim}, expected ${dims.obsDim}/${dims.numActions}/${dims.actDim} as in ${dims.where}`);
        entries.push({ reader, group: g, numHistories: info.numHistories, length: info.length, taskIndex: info.taskIndex ?? Number(g), task: info.task });
      }
    }
    if (!dims) throw new IcrlError('streamed AD windows: the collection holds no history');
    entries.sort((a, b) => a.taskIndex - b.taskIndex);
    const streams: WindowStream[] = [];
    for (const e of entries) for (let run = 0; run < e.numHistories; run++) streams.push({ reader: e.reader, group: e.group, run, length: e.length, taskIndex: e.taskIndex, task: e.task });
    return new HistoryWindows(streams, files.map((f) => f.reader), dims);
  }

  /** The streams whose task index passes `keep`, sharing this index's open files (close only one of them). */
  subset(keep: (taskIndex: number) => boolean): HistoryWindows {
    return new HistoryWindows(this.streams.filter((s) => keep(s.taskIndex)), this.readers, this);
  }

  /** Task indices in stream order, without repeats. */
  taskIndices(): number[] {
    const out: number[] = [];
    for (const s of this.streams) if (out[out.length - 1] !== s.taskIndex) out.push(s.taskIndex);
    return out;
  }

  /** Reads steps [start, start + L) of stream `s` (and the step before, when there is one). */
  window(s: number, start: number, L: number): StreamWindow {
    const st = this.streams[s];
    if (!st) throw new IcrlError(`streamed AD windows: no stream ${s} (${this.streams.length} streams)`);
    if (!(start >= 0 && start + L <= st.length)) throw new IcrlError(`${st.reader.file}: group "${st.group}" run ${st.run}: window [${start}, ${start + L}) outside its ${st.length} steps`);
    const hasPrev = start > 0;
    const first = hasPrev ? start - 1 : start;
    const x = st.reader.read(st.group, { start: first, stop: start + L, h0: st.run, h1: st.run + 1, extras: false });
    return { observations: x.observations, actions: x.actions, rewards: x.rewards, dones: x.dones, offset: start - first, hasPrev };
  }

  /** Bytes of one window of L steps as read (the memory a batch row needs on top of the index). */
  windowBytes(L: number): number {
    return (L + 1) * (4 * this.obsDim + 4 * Math.max(1, this.actDim) + 5);
  }

  close(): void {
    for (const r of this.readers) r.close();
  }
}
