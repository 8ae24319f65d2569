"""torch_llama.py - a small PyTorch reference of the model `winnow train`
trains, and the safetensors files it reads and writes.  Used by
tests/train/check_parity.py (in float64) and bench/train_torch.py (in
float32).

The model is Llama's architecture under Hugging Face's parameter names, so
that `Llama.state_dict()` has exactly the keys of winnow's checkpoints:

    model.embed_tokens.weight                        [V, C]
    model.layers.{i}.input_layernorm.weight          [C]
    model.layers.{i}.self_attn.{q,k,v,o}_proj.weight [H*D, C] [KV*D, C] [KV*D, C] [C, H*D]
    model.layers.{i}.post_attention_layernorm.weight [C]
    model.layers.{i}.mlp.{gate,up,down}_proj.weight  [F, C] [F, C] [C, F]
    model.norm.weight                                [C]
    lm_head.weight                                   [V, C]   (not tied)

Linear weights are [out, in] (y = x @ W.T), no biases.  One row of T tokens
goes through:

    x = embed[inputs]
    per layer:  h = rmsnorm(x) * w_in
                q, k, v = h Wq.T, h Wk.T, h Wv.T      as [T,H,D], [T,KV,D], [T,KV,D]
                q, k turned by RoPE at the token's own position pos[t]
                query t attends key j iff seg_start[t] <= j <= t
                (causal, and only within its document); query head h reads
                kv head h // (H/KV); scores q.k / sqrt(D), softmax
                x = x + (P v) Wo.T
                h = rmsnorm(x) * w_post
                x = x + (silu(h Wg.T) * (h Wu.T)) Wd.T
    logits = (rmsnorm(x) * w_norm) lm_head.T

with rmsnorm(x) = x / sqrt(mean(x^2) + eps) and RoPE in the "rotate half"
layout: for i < D/2 the pair (v[i], v[i + D/2]) turns by the angle
pos * theta^(-2i/D).  The loss is the cross-entropy summed over the
positions whose target is not -1, divided by the number of such positions in
the whole optimizer step (see loss_sum).
"""
import json
import math
import struct

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

# ---------------------------------------------------------------- safetensors
#
# A safetensors file is: an unsigned 64-bit little-endian header length N,
# N bytes of JSON {name: {"dtype", "shape", "data_offsets": [begin, end]},
# "__metadata__": {str: str} (optional)}, then the data, each tensor
# row-major and little-endian at [begin, end) counted from the first byte
# after the header.

_DTYPES = {  # safetensors name -> numpy dtype (little-endian)
    "F64": np.dtype("<f8"), "F32": np.dtype("<f4"), "F16": np.dtype("<f2"),
    "I64": np.dtype("<i8"), "I32": np.dtype("<i4"), "I16": np.dtype("<i2"),
    "I8": np.dtype("i1"), "U8": np.dtype("u1"), "BOOL": np.dtype("?"),
}
_NAMES = {v: k for k, v in _DTYPES.items()}


class FormatError(Exception):
    """A file that is not what it claims to be."""


def read_safetensors(path):
    """Return ({name: numpy array}, metadata dict) of a safetensors file.
    BF16 tensors are widened to float32.  Raises FormatError on a bad file."""
    with open(path, "rb") as f:
        blob = f.read()
    if len(blob) < 8:
        raise FormatError(f"{path}: too short for a safetensors header")
    (n,) = struct.unpack("<Q", blob[:8])
    if n > len(blob) - 8:
        raise FormatError(f"{path}: header length {n} runs past the end of the file")
    try:
        header = json.loads(blob[8:8 + n].decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        raise FormatError(f"{path}: header is not JSON: {e}") from None
    if not isinstance(header, dict):
        raise FormatError(f"{path}: header is not a JSON object")
    meta = header.pop("__metadata__", None) or {}
    data = memoryview(blob)[8 + n:]
    tensors = {}
    for name, info in header.items():
        try:
            dtype, shape = info["dtype"], [int(s) for s in info["shape"]]
            begin, end = (int(o) for o in info["data_offsets"])
        except (KeyError, TypeError, ValueError):
            raise FormatError(f"{path}: tensor {name!r}: bad header entry {info!r}") from None
        count = math.prod(shape)
        if dtype == "BF16":
            itemsize = 2
        elif dtype in _DTYPES:
            itemsize = _DTYPES[dtype].itemsize
        else:
            raise FormatError(f"{path}: tensor {name!r}: unsupported dtype {dtype}")
        if not 0 <= begin <= end <= len(data) or end - begin != count * itemsize:
            raise FormatError(f"{path}: tensor {name!r}: offsets [{begin}, {end}) do not hold "
                              f"{dtype} {shape} in {len(data)} data bytes")
        raw = data[begin:end]
        if dtype == "BF16":  # the top half of a float32
            a = (np.frombuffer(raw, "<u2").astype(np.uint32) << 16).view(np.float32)
        else:
            a = np.frombuffer(raw, _DTYPES[dtype]).copy()
        tensors[name] = a.reshape(shape)
    return tensors, meta


def write_safetensors(path, tensors, metadata=None):
    """Write {name: numpy array or torch tensor} to path, in name order,
    the header padded with spaces to a multiple of 8 bytes."""
    arrays, header, offset = [], {}, 0
    for name in sorted(tensors):
        a = tensors[name]
        if isinstance(a, torch.Tensor):
            a = a.detach().cpu().numpy()
        a = np.ascontiguousarray(a)
        a = a.astype(a.dtype.newbyteorder("<"), copy=False)
        if a.dtype not in _NAMES:
            raise ValueError(f"{name}: cannot store dtype {a.dtype}")
        header[name] = {"dtype": _NAMES[a.dtype], "shape": list(a.shape),
                        "data_offsets": [offset, offset + a.nbytes]}
        arrays.append(a)
        offset += a.nbytes
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for a in arrays:
            f.write(a.tobytes())


# ---------------------------------------------------------------- config

class Config:
    """The fields of a Llama config.json the model needs."""

    def __init__(self, vocab_size, hidden_size, num_hidden_layers, num_attention_heads,
                 num_key_value_heads, intermediate_size, rms_norm_eps=1e-5, rope_theta=10000.0):
        self.vocab_size = int(vocab_size)
        self.hidden_size = int(hidden_size)
        self.num_hidden_layers = int(num_hidden_layers)
        self.num_attention_heads = int(num_attention_heads)
        self.num_key_value_heads = int(num_key_value_heads)
        self.intermediate_size = int(intermediate_size)
        self.rms_norm_eps = float(rms_norm_eps)
        self.rope_theta = float(rope_theta)
        H, KV = self.num_attention_heads, self.num_key_value_heads
        if self.hidden_size % H or H % KV or (self.hidden_size // H) % 2:
            raise ValueError(f"hidden_size {self.hidden_size}, {H} heads and {KV} kv heads "
                             "need C % H == 0, H % KV == 0 and an even head_dim")
        self.head_dim = self.hidden_size // H

    @classmethod
    def from_dict(cls, d):
        """From a parsed config.json; rejects what this model does not do."""
        need = ["vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads",
                "intermediate_size", "rms_norm_eps", "rope_theta"]
        missing = [k for k in need if k not in d]
        if missing:
            raise ValueError(f"config.json lacks {', '.join(missing)}")
        unsupported = {"tie_word_embeddings": True, "attention_bias": True, "mlp_bias": True}
        for k, bad in unsupported.items():
            if d.get(k) == bad:
                raise ValueError(f"config.json: {k}={bad} is not this model")
        if d.get("hidden_act", "silu") != "silu" or d.get("rope_scaling") is not None:
            raise ValueError("config.json: only hidden_act silu without rope_scaling is this model")
        cfg = cls(d["vocab_size"], d["hidden_size"], d["num_hidden_layers"], d["num_attention_heads"],
                  d.get("num_key_value_heads", d["num_attention_heads"]), d["intermediate_size"],
                  d["rms_norm_eps"], d["rope_theta"])
        if d.get("head_dim") is not None and int(d["head_dim"]) != cfg.head_dim:
            raise ValueError(f"config.json: head_dim {d['head_dim']} is not hidden_size / heads")
        return cfg

    def to_dict(self):
        """A Hugging Face style Llama config.json."""
        return {
            "architectures": ["LlamaForCausalLM"], "model_type": "llama",
            "vocab_size": self.vocab_size, "hidden_size": self.hidden_size,
            "num_hidden_layers": self.num_hidden_layers,
            "num_attention_heads": self.num_attention_heads,
            "num_key_value_heads": self.num_key_value_heads,
            "head_dim": self.head_dim, "intermediate_size": self.intermediate_size,
            "rms_norm_eps": self.rms_norm_eps, "rope_theta": self.rope_theta,
            "hidden_act": "silu", "tie_word_embeddings": False,
            "attention_bias": False, "mlp_bias": False, "torch_dtype": "float32",
        }


# ---------------------------------------------------------------- model

class RMSNorm(nn.Module):
    def __init__(self, dim, eps, dtype):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim, dtype=dtype))

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def rope(x, cos, sin):
    """Turn x [R,T,heads,D] by angles with cos, sin [R,T,1,D/2] ("rotate half")."""
    half = x.shape[-1] // 2
    x1, x2 = x[..., :half], x[..., half:]
    return torch.cat([x1 * cos - x2 * sin, x2 * cos + x1 * sin], dim=-1)


class Attention(nn.Module):
    def __init__(self, cfg, dtype):
        super().__init__()
        C, H, KV, D = cfg.hidden_size, cfg.num_attention_heads, cfg.num_key_value_heads, cfg.head_dim
        self.H, self.KV, self.D = H, KV, D
        self.q_proj = nn.Linear(C, H * D, bias=False, dtype=dtype)
        self.k_proj = nn.Linear(C, KV * D, bias=False, dtype=dtype)
        self.v_proj = nn.Linear(C, KV * D, bias=False, dtype=dtype)
        self.o_proj = nn.Linear(H * D, C, bias=False, dtype=dtype)

    def expand_kv(self, t):
        """[R,KV,T,D] -> [R,H,T,D]: query head h reads kv head h // (H/KV).
        (expand, not repeat_interleave: its backward is a sum, not index_add)"""
        R, KV, T, D = t.shape
        return t[:, :, None].expand(R, KV, self.H // KV, T, D).reshape(R, self.H, T, D)

    def forward(self, h, cos, sin, allowed):
        R, T, _ = h.shape
        q = rope(self.q_proj(h).view(R, T, self.H, self.D), cos, sin)
        k = rope(self.k_proj(h).view(R, T, self.KV, self.D), cos, sin)
        v = self.v_proj(h).view(R, T, self.KV, self.D)
        q, k, v = q.transpose(1, 2), self.expand_kv(k.transpose(1, 2)), self.expand_kv(v.transpose(1, 2))
        scores = (q @ k.transpose(-1, -2)) / math.sqrt(self.D)          # [R,H,T,T]
        scores = scores.masked_fill(~allowed, float("-inf"))
        out = torch.softmax(scores, dim=-1) @ v                          # [R,H,T,D]
        return self.o_proj(out.transpose(1, 2).reshape(R, T, self.H * self.D))


class MLP(nn.Module):
    def __init__(self, cfg, dtype):
        super().__init__()
        C, Fh = cfg.hidden_size, cfg.intermediate_size
        self.gate_proj = nn.Linear(C, Fh, bias=False, dtype=dtype)
        self.up_proj = nn.Linear(C, Fh, bias=False, dtype=dtype)
        self.down_proj = nn.Linear(Fh, C, bias=False, dtype=dtype)

    def forward(self, h):
        return self.down_proj(F.silu(self.gate_proj(h)) * self.up_proj(h))


class Layer(nn.Module):
    def __init__(self, cfg, dtype):
        super().__init__()
        self.input_layernorm = RMSNorm(cfg.hidden_size, cfg.rms_norm_eps, dtype)
        self.self_attn = Attention(cfg, dtype)
        self.post_attention_layernorm = RMSNorm(cfg.hidden_size, cfg.rms_norm_eps, dtype)
        self.mlp = MLP(cfg, dtype)

    def forward(self, x, cos, sin, allowed):
        x = x + self.self_attn(self.input_layernorm(x), cos, sin, allowed)
        return x + self.mlp(self.post_attention_layernorm(x))


class Body(nn.Module):
    """Hugging Face's `model.` prefix: embedding, layers, final norm."""

    def __init__(self, cfg, dtype):
        super().__init__()
        self.embed_tokens = nn.Embedding(cfg.vocab_size, cfg.hidden_size, dtype=dtype)
        self.layers = nn.ModuleList(Layer(cfg, dtype) for _ in range(cfg.num_hidden_layers))
        self.norm = RMSNorm(cfg.hidden_size, cfg.rms_norm_eps, dtype)


class Llama(nn.Module):
    def __init__(self, cfg, dtype=torch.float64):
        super().__init__()
        self.cfg, self.dtype = cfg, dtype
        self.model = Body(cfg, dtype)
        self.lm_head = nn.Linear(cfg.hidden_size, cfg.vocab_size, bias=False, dtype=dtype)

    def rope_tables(self, pos):
        """cos, sin [R,T,1,D/2] of pos * theta^(-2i/D), the angles in float64."""
        D = self.cfg.head_dim
        inv_freq = self.cfg.rope_theta ** (-torch.arange(0, D // 2, dtype=torch.float64) * 2.0 / D)
        angle = pos.to(torch.float64)[..., None] * inv_freq
        return angle.cos().to(self.dtype)[:, :, None, :], angle.sin().to(self.dtype)[:, :, None, :]

    @staticmethod
    def attention_mask(seg_start):
        """[R,1,T,T] booleans: query t may see key j iff seg_start[t] <= j <= t."""
        T = seg_start.shape[1]
        j = torch.arange(T, device=seg_start.device)
        allowed = (j[None, None, :] <= j[None, :, None]) & (j[None, None, :] >= seg_start[:, :, None])
        return allowed[:, None, :, :]

    def forward(self, inputs, pos, seg_start):
        """inputs, pos, seg_start [R,T] integers -> logits [R,T,V]."""
        cos, sin = self.rope_tables(pos)
        allowed = self.attention_mask(seg_start.long())
        x = self.model.embed_tokens(inputs.long())
        for layer in self.model.layers:
            x = layer(x, cos, sin, allowed)
        return self.lm_head(self.model.norm(x))


def loss_sum(logits, targets):
    """Sum of the cross-entropy over the positions whose target != -1.  The
    step's loss is this summed over its micro-batches, divided by the number
    of such positions in the whole step."""
    V = logits.shape[-1]
    return F.cross_entropy(logits.reshape(-1, V), targets.reshape(-1).long(),
                           ignore_index=-1, reduction="sum")


def init_normal(model, std=0.02, seed=0):
    """Random initialisation for tests and benchmarks: N(0, std) for the
    matrices and the embedding, ones for the norms."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.dim() == 1:
                p.fill_(1.0)
            else:
                p.copy_(torch.randn(p.shape, generator=g, dtype=torch.float64) * std)


def load_params(model, tensors, where="tensors"):
    """Copy every parameter of model from {name: array} (extra names are
    ignored).  Raises ValueError naming what is missing or misshapen."""
    state = model.state_dict()
    missing = [n for n in state if n not in tensors]
    if missing:
        raise ValueError(f"{where}: missing parameters: {', '.join(missing[:5])}"
                         + (f" and {len(missing) - 5} more" if len(missing) > 5 else ""))
    for n, p in state.items():
        a = tensors[n]
        if tuple(a.shape) != tuple(p.shape):
            raise ValueError(f"{where}: {n} has shape {list(a.shape)}, the config says {list(p.shape)}")
    with torch.no_grad():
        for n, p in state.items():
            p.copy_(torch.as_tensor(np.asarray(tensors[n])).to(p.dtype))
