"""The DPT and AD models of icrl (src/models/dpt.ts, ad.ts, backbone.ts; src/nn/modules.ts) in
PyTorch, loading the weights of an icrl model folder (config.json + model.safetensors) and saving
them back in the same format.

The architecture, as in the TypeScript engine:
- Linear: y = x W + b. icrl stores W as (in, out); PyTorch's nn.Linear holds (out, in): every Linear
  weight is transposed on load and on save. Other tensors (layer norms, the DPT start token, AD's
  position table) are stored as they are.
- Block (pre-norm): h = x + proj(attn(ln1(x))), then h + ffn(ln2(h)); LayerNorm eps 1e-5 (biased
  variance); the FFN is Linear(d, ffnMult d) -> GELU (exact, erf form) -> Linear(ffnMult d, d).
- Attention: one Linear(d, 3d) gives [q | k | v]; head h uses columns h*hd..(h+1)*hd of each;
  causal softmax(q k^T / sqrt(hd)) v; the heads are concatenated back, then proj.
- Backbone: optional learned positions (AD: added to the token embeddings; DPT: none), the blocks,
  a final LayerNorm (lnF).
- DPT: sequence [start (+ queryEmbed(q) with model.queryToken), embed(t_1), ..., embed(t_T)] (+ countEmbed of [ln(n)/ln(500), 1/sqrt(n)] for
  the n-th token when model.countFeatures); prediction after j transitions = head([h_j ; queryEmbed(q)])
  with head = Linear(2d, headMult d) -> GELU -> (headLayers - 1) x [Linear(headMult d, headMult d) -> GELU]
  -> Linear(headMult d, out) (head.fc, head.mid.<i>, head.out).
- AD: head(backbone(embed(tokens))) with learned positions.
Token layouts (features.ts): AD token [obs, previous action, previous reward, has-previous,
episode-start]; DPT token [s, a, r, r * onehot(a), s']; grid observations one-hot per coordinate.
T2MIR (mixture-of-experts) models are not supported here.
"""
import json
import math
import os

import numpy as np
import torch
from torch import nn
import torch.nn.functional as F

from .safetensors_np import read_safetensors, write_safetensors


def obs_feature_size(dims):
    return sum(dims["obsSizes"]) if dims.get("obsSizes") else dims["obsDim"]


def act_feature_size(dims):
    return dims["numActions"] if dims["numActions"] > 0 else dims["actDim"]


def dpt_token_size(dims):
    return 2 * obs_feature_size(dims) + act_feature_size(dims) + 1 + (dims["numActions"] if dims["numActions"] > 0 else 0)


def ad_token_size(dims):
    return obs_feature_size(dims) + act_feature_size(dims) + 3


class MLP(nn.Module):
    def __init__(self, dim, hidden, out_dim=None, hidden_layers=1):
        super().__init__()
        self.fc = nn.Linear(dim, hidden)
        self.mid = nn.ModuleList([nn.Linear(hidden, hidden) for _ in range(hidden_layers - 1)])
        self.out = nn.Linear(hidden, out_dim or dim)

    def forward(self, x):
        h = F.gelu(self.fc(x))
        for layer in self.mid:
            h = F.gelu(layer(h))
        return self.out(h)


class CausalSelfAttention(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x):
        B, T, d = x.shape
        H = self.heads
        hd = d // H
        q, k, v = self.qkv(x).split(d, dim=-1)
        q, k, v = (t.reshape(B, T, H, hd).transpose(1, 2) for t in (q, k, v))
        att = (q @ k.transpose(-2, -1)) / math.sqrt(hd)
        mask = torch.ones(T, T, dtype=torch.bool, device=x.device).tril()
        att = att.masked_fill(~mask, float("-inf")).softmax(dim=-1)
        return self.proj((att @ v).transpose(1, 2).reshape(B, T, d))


class Block(nn.Module):
    def __init__(self, dim, heads, hidden):
        super().__init__()
        self.ln1 = nn.LayerNorm(dim, eps=1e-5)
        self.attn = CausalSelfAttention(dim, heads)
        self.ln2 = nn.LayerNorm(dim, eps=1e-5)
        self.ffn = MLP(dim, hidden)

    def forward(self, x):
        h = x + self.attn(self.ln1(x))
        return h + self.ffn(self.ln2(h))


class Backbone(nn.Module):
    def __init__(self, cfg, max_len, use_positions):
        super().__init__()
        d = cfg["dModel"]
        self.pos = nn.Parameter(torch.zeros(max_len, d)) if use_positions else None
        self.blocks = nn.ModuleList([Block(d, cfg["heads"], round(cfg.get("ffnMult", 4) * d)) for _ in range(cfg["layers"])])
        self.lnF = nn.LayerNorm(d, eps=1e-5)

    def forward(self, x):
        if self.pos is not None:
            T = x.shape[1]
            if T > self.pos.shape[0]:
                raise ValueError(f"{T} tokens exceed the model's context of {self.pos.shape[0]}")
            x = x + self.pos[:T]
        for b in self.blocks:
            x = b(x)
        return self.lnF(x)


def _check_cfg(cfg):
    if cfg.get("moe"):
        raise ValueError("T2MIR (model.moe) models are not supported by the PyTorch definitions; DPT and AD without moe are")


class DPT(nn.Module):
    """Decision-Pretrained Transformer: forward_all(tokens [B, T, token], queries [B, query]) -> [B, T + 1, out]."""

    def __init__(self, cfg, dims, context_length):
        super().__init__()
        _check_cfg(cfg)
        d = cfg["dModel"]
        self.cfg, self.dims, self.context_length = cfg, dims, context_length
        self.token_size = dpt_token_size(dims)
        self.query_size = obs_feature_size(dims)
        self.out_size = act_feature_size(dims)
        self.embed = nn.Linear(self.token_size, d)
        self.start = nn.Parameter(torch.zeros(1, d))
        self.queryEmbed = nn.Linear(self.query_size, d)
        self.head = MLP(2 * d, round(cfg.get("headMult", 2) * d), self.out_size, cfg.get("headLayers", 1))
        self.backbone = Backbone(cfg, context_length + 1, False)
        self.countEmbed = nn.Linear(2, d) if cfg.get("countFeatures") else None

    def forward_all(self, tokens, queries):
        tokens = torch.as_tensor(tokens, dtype=torch.float32)
        queries = torch.as_tensor(queries, dtype=torch.float32)
        B, T, _ = tokens.shape
        x = self.embed(tokens)
        if self.countEmbed is not None:
            n = torch.arange(1, T + 1, dtype=torch.float32)
            feats = torch.stack([torch.log(n) / math.log(500), 1 / torch.sqrt(n)], dim=-1)
            x = x + self.countEmbed(feats).unsqueeze(0)
        q0 = self.queryEmbed(queries)
        s = self.start.expand(B, 1, -1)
        if self.cfg.get("queryToken"):
            s = s + q0.unsqueeze(1)  # model.queryToken: the query enters the sequence too
        h = self.backbone(torch.cat([s, x], dim=1))
        q = q0.unsqueeze(1).expand(-1, T + 1, -1)
        return self.head(torch.cat([h, q], dim=-1))

    forward = forward_all


class AD(nn.Module):
    """Algorithm Distillation: forward(tokens [B, T, token]) -> [B, T, out]."""

    def __init__(self, cfg, dims, context_length):
        super().__init__()
        _check_cfg(cfg)
        d = cfg["dModel"]
        self.cfg, self.dims, self.context_length = cfg, dims, context_length
        self.token_size = ad_token_size(dims)
        self.out_size = act_feature_size(dims)
        self.embed = nn.Linear(self.token_size, d)
        self.backbone = Backbone(cfg, context_length, True)
        self.head = nn.Linear(d, self.out_size)

    def forward(self, tokens):
        return self.head(self.backbone(self.embed(torch.as_tensor(tokens, dtype=torch.float32))))


KINDS = {"dpt": DPT, "ad": AD}


def model_dir(path):
    """The model folder `path` names: itself, its model/ (a training run), or its latest checkpoint."""
    if os.path.exists(os.path.join(path, "config.json")):
        return path
    if os.path.exists(os.path.join(path, "model", "config.json")):
        return os.path.join(path, "model")
    latest = os.path.join(path, "checkpoints", "latest.json")
    if os.path.exists(latest):
        with open(latest) as f:
            d = json.load(f).get("dir")
        if d and os.path.exists(os.path.join(path, "checkpoints", d, "config.json")):
            return os.path.join(path, "checkpoints", d)
    raise FileNotFoundError(f"{path}: expected an icrl model folder (config.json + model.safetensors) or a training run folder")


def _linear_weights(model):
    return {f"{name}.weight" for name, m in model.named_modules() if isinstance(m, nn.Linear)}


def load_model(path):
    """A DPT or AD model in PyTorch with the weights of an icrl model folder, in eval mode."""
    d = model_dir(path)
    with open(os.path.join(d, "config.json")) as f:
        spec = json.load(f)
    if spec.get("format") != "icrl-model/1":
        raise ValueError(f"{d}/config.json: not an icrl model spec (format {spec.get('format')!r})")
    kind = spec["model"]["kind"]
    if kind not in KINDS:
        raise ValueError(f"{d}: model kind {kind!r} has no PyTorch definition (known: {', '.join(KINDS)})")
    model = KINDS[kind](spec["model"], spec["dims"], spec["contextLength"])
    model.spec = spec
    tensors, _ = read_safetensors(os.path.join(d, "model.safetensors"))
    linear = _linear_weights(model)
    state = model.state_dict()
    missing = [k for k in state if k not in tensors]
    extra = [k for k in tensors if k not in state]
    if missing or extra:
        raise ValueError(f"{d}/model.safetensors: tensors missing {missing}, not in the model {extra}")
    new_state = {}
    for k, v in state.items():
        arr = tensors[k].T if k in linear else tensors[k]
        if tuple(arr.shape) != tuple(v.shape):
            raise ValueError(f"{d}/model.safetensors: tensor {k!r} has shape {list(arr.shape)} (after transposing Linear weights), the model expects {list(v.shape)}")
        new_state[k] = torch.from_numpy(np.ascontiguousarray(arr, dtype=np.float32))
    model.load_state_dict(new_state)
    return model.eval()


def save_model(model, path, info=None):
    """Writes an icrl model folder (config.json + model.safetensors) that `icrl eval` and the TypeScript loader read."""
    os.makedirs(path, exist_ok=True)
    linear = _linear_weights(model)
    tensors = {k: (v.detach().cpu().numpy().T if k in linear else v.detach().cpu().numpy()) for k, v in model.state_dict().items()}
    kind = "dpt" if isinstance(model, DPT) else "ad"
    write_safetensors(os.path.join(path, "model.safetensors"), tensors, {"format": "icrl-model/1", "kind": kind})
    spec = {"format": "icrl-model/1", "model": model.cfg, "dims": model.dims, "contextLength": model.context_length, "info": info or {}}
    with open(os.path.join(path, "config.json"), "w") as f:
        json.dump(spec, f, indent=2)
        f.write("\n")
