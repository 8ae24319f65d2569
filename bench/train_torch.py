#!/usr/bin/python3
"""train_torch.py - training speed of winnow's model in PyTorch (float32, CPU),
the reference for `winnow train`'s speed.

usage: train_torch.py [--vocab V] [--dim C] [--layers L] [--heads H]
                      [--kv-heads KV] [--hidden F] [--seq T] [--batch B]
                      [--steps N] [--warmup W] [--threads K]

Trains the model of tests/train/torch_llama.py (Llama architecture, RMSNorm,
RoPE, GQA, SwiGLU, untied lm_head) on random tokens, B rows of T tokens per
step, one document per row: forward, backward, global-norm clipping at 1.0
and AdamW (betas 0.9, 0.95, weight decay 0.1 except norms and embedding).
After W warm-up steps it times N steps and prints their median, then one
machine-readable line:

    torch tokens_per_s=X gflops=Y step_s=Z step_min_s=M params=P

(tokens/s and GFLOP/s from the median step time Z; M is the fastest step,
a hint when other work shares the machine).

FLOPs per token are counted as 6 * N + 6 * L * C * T, with N all parameters
but the input embedding (lm_head included): 6 N for the matrix products of
forward and backward, 6 L C T for attention's scores and weighted sums under
the causal mask.  Attention is plain eager PyTorch (the [T, T] scores
materialised), as torch 1.13 has no fused attention on CPU.
"""
import argparse
import os
import statistics
import sys
import time


def main():
    ap = argparse.ArgumentParser(description="PyTorch training speed of winnow's model")
    ap.add_argument("--vocab", type=int, default=8192)
    ap.add_argument("--dim", type=int, default=384)
    ap.add_argument("--layers", type=int, default=6)
    ap.add_argument("--heads", type=int, default=6)
    ap.add_argument("--kv-heads", type=int, default=2)
    ap.add_argument("--hidden", type=int, default=1024)
    ap.add_argument("--seq", type=int, default=256)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--steps", type=int, default=5, help="timed steps")
    ap.add_argument("--warmup", type=int, default=3, help="untimed steps first")
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    a = ap.parse_args()
    # torch's matrix products run in the BLAS library's own thread pool
    # (OpenBLAS on Debian), sized from the environment when it loads: so set
    # it before importing torch, and torch's OpenMP pool after.
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(a.threads)
    import torch
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "train"))
    from torch_llama import Config, Llama, init_normal, loss_sum
    torch.set_num_threads(a.threads)

    cfg = Config(a.vocab, a.dim, a.layers, a.heads, a.kv_heads, a.hidden, rms_norm_eps=1e-5, rope_theta=10000.0)
    model = Llama(cfg, torch.float32)
    init_normal(model, seed=0)
    named = dict(model.named_parameters())
    n_all = sum(p.numel() for p in named.values())
    n_flop = n_all - named["model.embed_tokens.weight"].numel()
    flops_per_token = 6 * n_flop + 6 * cfg.num_hidden_layers * cfg.hidden_size * a.seq

    no_decay = [p for n, p in named.items() if "norm" in n or "embed_tokens" in n]
    decay = [p for p in named.values() if all(p is not q for q in no_decay)]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=3e-4, betas=(0.9, 0.95), eps=1e-8, foreach=True)

    g = torch.Generator().manual_seed(0)
    pos = torch.arange(a.seq, dtype=torch.int32).repeat(a.batch, 1)
    seg_start = torch.zeros(a.batch, a.seq, dtype=torch.int32)
    times = []
    print(f"torch {torch.__version__}, {a.threads} threads: V={a.vocab} C={a.dim} L={a.layers} H={a.heads} "
          f"KV={a.kv_heads} F={a.hidden} T={a.seq} batch {a.batch}; {n_all / 1e6:.2f}M parameters, "
          f"{flops_per_token / 1e6:.1f} MFLOP per token", file=sys.stderr)
    for step in range(a.warmup + a.steps):
        tokens = torch.randint(0, a.vocab, (a.batch, a.seq + 1), generator=g, dtype=torch.int32)
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        logits = model(tokens[:, :-1], pos, seg_start)
        loss = loss_sum(logits, tokens[:, 1:]) / (a.batch * a.seq)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        dt = time.perf_counter() - t0
        if step >= a.warmup:
            times.append(dt)
        print(f"  step {step + 1}{' (warm-up)' if step < a.warmup else ''}: loss {float(loss):.4f} "
              f"{dt:.3f} s", file=sys.stderr)

    step_s = statistics.median(times)
    tokens_per_s = a.batch * a.seq / step_s
    print(f"torch tokens_per_s={tokens_per_s:.1f} gflops={tokens_per_s * flops_per_token / 1e9:.2f} "
          f"step_s={step_s:.4f} step_min_s={min(times):.4f} params={n_all}")


if __name__ == "__main__":
    main()
