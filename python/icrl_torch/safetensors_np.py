"""safetensors files with numpy alone (https://github.com/huggingface/safetensors): an 8-byte
little-endian header length N, N bytes of JSON {name: {dtype, shape, data_offsets: [begin, end]},
"__metadata__": {str: str}}, then the raw little-endian data (offsets relative to its start)."""
import json
import os
import tempfile

import numpy as np

_DTYPES = {"F32": "<f4", "F64": "<f8", "F16": "<f2", "I32": "<i4", "I64": "<i8", "U8": "u1", "I8": "i1"}


def read_safetensors(path):
    """Returns ({name: numpy array}, metadata dict). BF16 is widened to float32."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 8:
        raise ValueError(f"{path}: {len(data)} bytes, shorter than the 8-byte header length")
    n = int.from_bytes(data[:8], "little")
    if n > len(data) - 8:
        raise ValueError(f"{path}: header claims {n} bytes but the file has {len(data) - 8} after the length (truncated?)")
    header = json.loads(data[8 : 8 + n].decode("utf-8"))
    metadata = header.pop("__metadata__", {}) or {}
    base = 8 + n
    tensors = {}
    for name, info in header.items():
        begin, end = info["data_offsets"]
        raw = data[base + begin : base + end]
        dtype = info["dtype"]
        shape = tuple(info["shape"])
        if dtype == "BF16":
            u = np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16
            arr = u.view(np.float32)
        elif dtype in _DTYPES:
            arr = np.frombuffer(raw, dtype=_DTYPES[dtype])
        else:
            raise ValueError(f"{path}: tensor {name!r} has dtype {dtype}, not one this reader knows ({', '.join(sorted(_DTYPES))}, BF16)")
        expected = int(np.prod(shape)) if shape else 1
        if arr.size != expected:
            raise ValueError(f"{path}: tensor {name!r} has {arr.size} values for shape {list(shape)}")
        tensors[name] = arr.reshape(shape).copy()
    return tensors, metadata


def write_safetensors(path, tensors, metadata=None):
    """Writes float32 tensors (atomically: a temporary file in the same folder, then a rename)."""
    header = {}
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    blobs = []
    offset = 0
    for name, arr in tensors.items():
        a = np.ascontiguousarray(np.asarray(arr, dtype="<f4"))
        header[name] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [offset, offset + a.nbytes]}
        blobs.append(a.tobytes())
        offset += a.nbytes
    text = json.dumps(header, separators=(",", ":"))
    text += " " * ((8 - (8 + len(text.encode("utf-8"))) % 8) % 8)
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-")
    with os.fdopen(fd, "wb") as f:
        f.write(len(text.encode("utf-8")).to_bytes(8, "little"))
        f.write(text.encode("utf-8"))
        for b in blobs:
            f.write(b)
    os.replace(tmp, path)
