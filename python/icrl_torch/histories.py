"""Learning histories written by `icrl collect` (HDF5, one group per task; the icrl layout and the
XLand-100B layout, see docs/data.md) read with h5py into numpy arrays."""
import glob
import json
import os

import h5py
import numpy as np

_FIELDS = ("observations", "states", "actions", "rewards", "dones", "expert_actions")


def _attr(v):
    if isinstance(v, bytes):
        v = v.decode("utf-8")
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, str) and v[:1] in "{[":
        try:
            return json.loads(v)
        except ValueError:
            return v
    return v


def history_groups(path):
    """(file, group name) of every history of a shard file or of a collection folder (its shard-*.h5)."""
    files = sorted(glob.glob(os.path.join(path, "shard-*.h5"))) if os.path.isdir(path) else [path]
    if not files:
        raise FileNotFoundError(f"{path}: no shard-*.h5 files (a folder written by icrl collect with kind: histories)")
    out = []
    for f in files:
        with h5py.File(f, "r") as h:
            out.extend((f, g) for g in sorted(h.keys(), key=lambda s: (len(s), s)) if isinstance(h[g], h5py.Group))
    return out


def read_histories(path, start=0, stop=None):
    """Yields one dict per history: attrs (task, source-algorithm, ... decoded from JSON) and the
    datasets present (observations, states, actions, rewards, dones, expert_actions) as numpy arrays
    of shape (N, steps, ...), steps start..stop."""
    for f, g in history_groups(path):
        with h5py.File(f, "r") as h:
            grp = h[g]
            rec = {"file": f, "group": g, "attrs": {k: _attr(v) for k, v in grp.attrs.items()}}
            for name in _FIELDS:
                if name in grp:
                    rec[name] = grp[name][:, start:stop]
            yield rec
