"""Reading icrl's files from Python: safetensors weights (numpy only), the DPT and AD models in
PyTorch loaded from an icrl model folder (and saved back), and learning histories (h5py).

    from icrl_torch import load_model
    model = load_model("runs/dpt-bandit-small")      # a training run, its model/ folder or a checkpoint
    logits = model.forward_all(tokens, queries)      # tokens [B, T, token_size], queries [B, query_size]
"""
from .safetensors_np import read_safetensors, write_safetensors

__all__ = ["read_safetensors", "write_safetensors", "load_model", "save_model", "DPT", "AD", "read_histories"]


def __getattr__(name):
    # torch and h5py are imported only when their part is used (the reader needs numpy alone)
    if name in ("load_model", "save_model", "DPT", "AD", "model_dir"):
        from . import models

        return getattr(models, name)
    if name in ("read_histories", "history_groups"):
        from . import histories

        return getattr(histories, name)
    raise AttributeError(name)
