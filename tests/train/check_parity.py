#!/usr/bin/python3
"""check_parity.py - check a `winnow train --dump DIR` run against the PyTorch
reference in tests/train/torch_llama.py, step by step.

usage: check_parity.py [--show K] [--anchored] DIR

DIR holds config.json (a Llama config with a "winnow" object of optimizer
settings), init.safetensors (the parameters before step 1) and
step-1.safetensors, step-2.safetensors, ...  (the batch, loss, lr,
grad_norm, grad.<name> and the parameters after the step).

By default the reference starts from init.safetensors and then follows ITS
OWN trajectory: at every step it computes loss and gradients on the step's
batch with its own parameters (float64), clips them and takes its own AdamW
step; it never copies winnow's values back.  With --anchored it instead
starts every step from winnow's dumped parameters of the previous step and
the moments replayed from winnow's dumped gradients (see "Trajectories"
below).  Exit status 0 when every check passes, 1 otherwise or when the dump
is malformed, with a message on stderr.

The optimizer, exactly (torch 1.13's clip_grad_norm_ and AdamW, non-foreach)
-----------------------------------------------------------------------------
  norm  = sqrt(sum over all parameters and elements of g^2)   (the dumped
          grad_norm; the dumped grad.<name> are the gradients before clipping)
  scale = min(1, clip / (norm + 1e-6))   if grad_clip > 0, else 1
          (torch always multiplies by the clamped factor, so gradients shrink
          whenever norm > clip - 1e-6; below that scale is exactly 1)
  g     = scale * g
  for each parameter, with t = the step number (1, 2, ...), wd = weight_decay,
  or 0 when the name contains any of the "no_decay" substrings
  (default ["norm", "embed_tokens"]):
      p  = p * (1 - lr * wd)                       decoupled weight decay
      m  = beta1 * m + (1 - beta1) * g             m, v start at 0
      v  = beta2 * v + (1 - beta2) * g * g
      p  = p - (lr / (1 - beta1^t)) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)

The checks, per step (relative error of a tensor a against the reference b
is ||a - b||_2 / max(||b||_2, 1e-30))
-----------------------------------------------------------------------------
  loss       winnow's loss against the reference's                  1e-5
  grad_norm  winnow's grad_norm against the reference's             1e-4
  grad       every gradient against the reference's                 1e-4
  param      every parameter after the step against the reference's,
             over the elements not "flagged" (below)                1e-5
  drift      flagged elements may differ by at most what Adam can do:
             |p_w - p_ref| <= sum over steps s of 2 * A_s * lr_s (+ float32
             rounding), A_s the largest |m_hat| / sqrt(v_hat) possible at
             step s (1 at step 1); shown as the worst ratio, tolerance 1
  flagged    the fraction of all elements flagged                   1e-2
  opt.param  winnow's optimizer alone: the formula above applied to
             winnow's own previous parameters, its dumped gradients and
             grad_norm (moments replayed from its earlier dumped
             gradients) must give its parameters after the step      1e-5
  opt.delta  the same for the update itself, new - old: relative error
             <= 1e-4 + 2^-22 * ||p|| / ||update|| (the second term is the
             float32 rounding of storing p, the table shows the sum)

Flagged elements, and why the opt.* checks
-----------------------------------------------------------------------------
Adam divides by sqrt(v): on the first step an element moves by about
lr * sign(g) whatever |g| is, so an element whose gradient is nearly zero
and whose sign differs between float32 and float64 moves 2 * lr apart, and
later steps keep a similar sensitivity.  One such element in a tensor of
10^4 weights of size 0.02 is a relative error near 1e-3, so a plain
comparison would fail at random.  So at every step the reference also
computes the update it WOULD take from winnow's gradient (its own moments,
winnow's gradient and clipping); where that differs from its own update by
more than 1e-4 * lr, the element's update is decided by rounding rather
than by the code, and the element is flagged from then on: it is held to
the drift bound instead of 1e-5.  (0.01 to 0.05 % of the elements are
flagged at step 1 in float32 runs.)  The "param" row also shows, for
information, the relative error of the update (winnow's new - old against
the reference's) over the unflagged elements.  Because a wrong learning
rate, epsilon, beta, bias correction, weight decay or clipping moves every
element by only a fraction of lr, which a comparison of p might not see,
the opt.* checks replay winnow's own optimizer inputs through the formula
above: no gradient rounding enters there, so they are held tightly.

Trajectories
-----------------------------------------------------------------------------
Two float32 trainings that differ only in rounding drift apart: flagged
elements move lr apart, and the gradients at the two parameter sets then
differ by far more than the parameters do.  Measured with torch's own
float32 training of a 3.8M-parameter model (V=2048 C=256 L=4 H=8 KV=2):
with lr 1e-3 and 3 warm-up steps, 10 steps pass with the worst gradient at
2e-5; with lr 3e-3 from step 1, gradients drift past 1e-4 at step 5 though
nothing is wrong (winnow train itself, C=64 L=2, lr 3e-3, 10 steps, came
to 9.7e-5).  So dump parity runs with a small learning rate (<= 1e-3,
warm-up) and few steps (<= 10).  When the default mode fails only after
step 1 with step 1 well inside every tolerance, --anchored tells drift from
a bug: every step is then checked from winnow's own state, so only
rounding of that one step enters, while the opt.* checks still cover how
winnow carries its optimizer state from step to step.
"""
import argparse
import json
import math
import os
import re
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_llama import Config, FormatError, Llama, load_params, loss_sum, read_safetensors  # noqa: E402

TOL_LOSS, TOL_GRAD_NORM, TOL_GRAD = 1e-5, 1e-4, 1e-4
TOL_PARAM, TOL_OPT_PARAM, TOL_OPT_DELTA = 1e-5, 1e-5, 1e-4
FLAG_TAU = 1e-4      # flag an element when its update is this * lr uncertain
TOL_FLAGGED = 1e-2   # at most this fraction of all elements flagged
STORE_ROUNDING = 2.0 ** -22
TINY = 1e-30
KINDS = ["loss", "grad_norm", "grad", "param", "drift", "flagged", "opt.param", "opt.delta"]


class Fail(Exception):
    """A malformed dump: reported and exit 1."""


def rel(a, b):
    return float(np.linalg.norm(a - b) / max(np.linalg.norm(b), TINY))


def clip_scale(norm, clip):
    return min(1.0, clip / (norm + 1e-6)) if clip > 0 else 1.0


def adamw(p, g, m, v, t, lr, wd, b1, b2, eps):
    """One AdamW step of one tensor (float64): returns new p, m, v."""
    p = p * (1.0 - lr * wd)
    m = b1 * m + (1.0 - b1) * g
    v = b2 * v + (1.0 - b2) * g * g
    denom = np.sqrt(v) / math.sqrt(1.0 - b2 ** t) + eps
    return p - (lr / (1.0 - b1 ** t)) * m / denom, m, v


def adam_max_ratio(t, b1, b2):
    """The largest |m_hat| / sqrt(v_hat) after t steps over all gradient
    histories: by Cauchy-Schwarz, sqrt(sum_k a_k^2 / c_k) with m_hat =
    sum a_k g_k and v_hat = sum c_k g_k^2 (k = steps back)."""
    s = 0.0
    for k in range(t):
        a = (1 - b1) * b1 ** k / (1 - b1 ** t)
        c = (1 - b2) * b2 ** k / (1 - b2 ** t)
        s += a * a / c
    return math.sqrt(s)


def load_dump_config(path):
    try:
        with open(path) as f:
            d = json.load(f)
    except (OSError, ValueError) as e:
        raise Fail(f"{path}: {e}") from None
    try:
        cfg = Config.from_dict(d)
    except ValueError as e:
        raise Fail(f"{path}: {e}") from None
    w = d.get("winnow")
    if not isinstance(w, dict):
        raise Fail(f"{path}: no \"winnow\" object with the optimizer settings")
    missing = [k for k in ("weight_decay", "beta1", "beta2", "eps", "grad_clip") if k not in w]
    if missing:
        raise Fail(f"{path}: \"winnow\" lacks {', '.join(missing)}")
    hp = {k: float(w[k]) for k in ("weight_decay", "beta1", "beta2", "eps", "grad_clip")}
    hp["no_decay"] = list(w.get("no_decay", ["norm", "embed_tokens"]))
    return cfg, hp


def step_files(dump):
    found = {}
    for f in os.listdir(dump):
        mt = re.fullmatch(r"step-(\d+)\.safetensors", f)
        if mt:
            found[int(mt.group(1))] = os.path.join(dump, f)
    steps = sorted(found)
    if not steps:
        raise Fail(f"{dump}: no step-N.safetensors")
    if steps != list(range(1, len(steps) + 1)):
        raise Fail(f"{dump}: steps {steps} are not 1..N without gaps")
    return [found[n] for n in steps]


def read_batch(path, d, V):
    """The step's integer tensors, checked: shapes [R,T], ids in range,
    0 <= seg_start[t] <= t, pos >= 0."""
    out = {}
    for k in ("inputs", "targets", "pos", "seg_start"):
        if k not in d:
            raise Fail(f"{path}: no tensor {k}")
        a = d[k]
        if a.ndim != 2 or a.dtype.kind not in "iu":
            raise Fail(f"{path}: {k} is {a.dtype} {list(a.shape)}, not integers [R,T]")
        out[k] = a.astype(np.int64)
    shape = out["inputs"].shape
    if any(a.shape != shape for a in out.values()):
        raise Fail(f"{path}: inputs, targets, pos, seg_start differ in shape")
    T = shape[1]
    if out["inputs"].min() < 0 or out["inputs"].max() >= V:
        raise Fail(f"{path}: inputs outside [0, {V})")
    if out["targets"].min() < -1 or out["targets"].max() >= V:
        raise Fail(f"{path}: targets outside [-1, {V})")
    if out["pos"].min() < 0:
        raise Fail(f"{path}: negative positions")
    if (out["seg_start"] < 0).any() or (out["seg_start"] > np.arange(T)[None, :]).any():
        raise Fail(f"{path}: seg_start[t] outside [0, t]")
    if not (out["targets"] != -1).any():
        raise Fail(f"{path}: no target is counted (all -1)")
    return out


def scalar(path, d, k):
    if k not in d or d[k].size != 1:
        raise Fail(f"{path}: no one-element tensor {k}")
    return float(d[k].reshape(-1)[0])


def main():
    ap = argparse.ArgumentParser(description="check a winnow train --dump directory against PyTorch")
    ap.add_argument("dump")
    ap.add_argument("--show", type=int, default=1,
                    help="the worst K tensors of each check per step (failures are always shown)")
    ap.add_argument("--anchored", action="store_true",
                    help="start every step from winnow's dumped parameters and replayed moments")
    args = ap.parse_args()
    try:
        return run(args)
    except (Fail, FormatError) as e:
        print(f"check_parity: {e}", file=sys.stderr)
        return 1


def reference_grads(model, batch):
    """Loss and {name: gradient} (float64 numpy) of the reference on a batch."""
    tb = {k: torch.from_numpy(a) for k, a in batch.items()}
    model.zero_grad(set_to_none=True)
    count = int((tb["targets"] != -1).sum())
    loss = loss_sum(model(tb["inputs"], tb["pos"], tb["seg_start"]), tb["targets"]) / count
    loss.backward()
    return float(loss), {n: p.grad.detach().numpy().copy() for n, p in model.named_parameters()}


def print_table(rows, bad, show):
    """The failures, then the worst `show` rows of every kind of check."""
    worst = sorted(rows, key=lambda r: r[2] / r[3] if r[2] == r[2] else math.inf, reverse=True)
    shown = [r for r in worst if r in bad]
    for kind in KINDS:
        shown += [r for r in worst if r[0] == kind and r not in bad][:show]
    print(f"  {'check':<10} {'tensor':<44} {'rel err':>9} {'tol':>9}")
    for r in shown:
        kind, n, err, tol, note = r
        print(f"  {kind:<10} {n:<44} {err:9.2e} {tol:9.2e} {'FAIL' if r in bad else '    '} {note}")


def run(args):
    dump = args.dump
    cfg, hp = load_dump_config(os.path.join(dump, "config.json"))
    b1, b2, eps, clip = hp["beta1"], hp["beta2"], hp["eps"], hp["grad_clip"]
    files = step_files(dump)
    model = Llama(cfg, torch.float64)
    init, _ = read_safetensors(os.path.join(dump, "init.safetensors"))
    try:
        load_params(model, init, "init.safetensors")
    except ValueError as e:
        raise Fail(str(e)) from None
    params = dict(model.named_parameters())
    names = list(params)
    shapes = {n: tuple(p.shape) for n, p in params.items()}
    wd = {n: 0.0 if any(s in n for s in hp["no_decay"]) else hp["weight_decay"] for n in names}
    n_all = sum(p.numel() for p in params.values())

    # The reference's parameters live in `model`, its moments in m_ref, v_ref.
    # The replay of winnow's optimizer keeps winnow's previous parameters and
    # the moments of winnow's own gradients.
    m_ref = {n: np.zeros(shapes[n]) for n in names}
    v_ref = {n: np.zeros(shapes[n]) for n in names}
    p_w_prev = {n: init[n].astype(np.float64) for n in names}
    m_w = {n: np.zeros(shapes[n]) for n in names}
    v_w = {n: np.zeros(shapes[n]) for n in names}
    flagged = {n: np.zeros(shapes[n], bool) for n in names}
    drift = 0.0  # the drift bound: sum of 2 * A_s * lr_s so far

    print(f"check_parity: {dump}: {len(files)} steps{' anchored' if args.anchored else ''}; "
          f"V={cfg.vocab_size} C={cfg.hidden_size} L={cfg.num_hidden_layers} H={cfg.num_attention_heads} "
          f"KV={cfg.num_key_value_heads} F={cfg.intermediate_size}; wd={hp['weight_decay']:g} "
          f"betas=({b1:g}, {b2:g}) eps={eps:g} clip={clip:g} no_decay={hp['no_decay']}")
    failures = []
    for t, path in enumerate(files, start=1):
        if args.anchored:  # restart the reference from winnow's state after the previous step
            with torch.no_grad():
                for n in names:
                    params[n].copy_(torch.from_numpy(p_w_prev[n]))
            m_ref = {n: m_w[n].copy() for n in names}
            v_ref = {n: v_w[n].copy() for n in names}
            flagged = {n: np.zeros(shapes[n], bool) for n in names}
            drift = 0.0
        name = os.path.basename(path)
        d, _ = read_safetensors(path)
        batch = read_batch(name, d, cfg.vocab_size)
        lr, loss_w, gnorm_w = scalar(name, d, "lr"), scalar(name, d, "loss"), scalar(name, d, "grad_norm")
        for n in names:
            for k in (n, "grad." + n):
                if k not in d:
                    raise Fail(f"{name}: no tensor {k}")
                if tuple(d[k].shape) != shapes[n]:
                    raise Fail(f"{name}: {k} has shape {list(d[k].shape)}, not {list(shapes[n])}")
        extra = sorted(set(d) - set(names) - {"grad." + n for n in names} - set(batch)
                       - {"lr", "loss", "grad_norm"})
        if extra:
            print(f"  note: {name} has tensors this check does not know: {', '.join(extra[:5])}")

        # loss, gradients and their norm
        loss_ref, g_ref = reference_grads(model, batch)
        gnorm_ref = math.sqrt(sum(float((g * g).sum()) for g in g_ref.values()))
        g_w = {n: d["grad." + n].astype(np.float64) for n in names}
        rows = [("loss", "-", abs(loss_w - loss_ref) / abs(loss_ref), TOL_LOSS, f"{loss_w:.6f} ref {loss_ref:.6f}"),
                ("grad_norm", "-", abs(gnorm_w - gnorm_ref) / gnorm_ref, TOL_GRAD_NORM,
                 f"{gnorm_w:.6g} ref {gnorm_ref:.6g}")]
        rows += [("grad", n, rel(g_w[n], g_ref[n]), TOL_GRAD, "") for n in names]

        # the optimizer step, tensor by tensor
        s_ref, s_w = clip_scale(gnorm_ref, clip), clip_scale(gnorm_w, clip)
        drift += 2.0 * adam_max_ratio(t, b1, b2) * lr
        n_new = 0
        for n in names:
            p_ref = params[n].detach().numpy().copy()
            new_ref, m_ref1, v_ref1 = adamw(p_ref, g_ref[n] * s_ref, m_ref[n], v_ref[n], t, lr, wd[n], b1, b2, eps)
            # the update the reference would take from winnow's gradient: where
            # it differs, the element's update is decided by rounding
            cross, _, _ = adamw(p_ref, g_w[n] * s_w, m_ref[n], v_ref[n], t, lr, wd[n], b1, b2, eps)
            newly = (np.abs(cross - new_ref) > FLAG_TAU * lr) & ~flagged[n]
            n_new += int(newly.sum())
            flagged[n] |= newly
            m_ref[n], v_ref[n] = m_ref1, v_ref1
            with torch.no_grad():
                params[n].copy_(torch.from_numpy(new_ref))

            # winnow's parameters against the reference's
            p_w = d[n].astype(np.float64)
            ok, f = ~flagged[n], flagged[n]
            note = f"flagged {int(f.sum())}" if f.any() else ""
            upd = rel((p_w - p_w_prev[n])[ok], (new_ref - p_ref)[ok])
            rows.append(("param", n, rel(p_w[ok], new_ref[ok]), TOL_PARAM,
                         f"update err {upd:.1e} (info)" + (", " + note if note else "")))
            if f.any():
                allow = drift * (1 + 1e-3) + STORE_ROUNDING * np.abs(new_ref[f])
                rows.append(("drift", n, float((np.abs(p_w[f] - new_ref[f]) / allow).max()), 1.0, note))

            # winnow's optimizer alone, on its own inputs
            rep, m_w[n], v_w[n] = adamw(p_w_prev[n], g_w[n] * s_w, m_w[n], v_w[n], t, lr, wd[n], b1, b2, eps)
            rows.append(("opt.param", n, rel(p_w, rep), TOL_OPT_PARAM, ""))
            du = np.linalg.norm(rep - p_w_prev[n])
            tol = TOL_OPT_DELTA + STORE_ROUNDING * np.linalg.norm(rep) / max(du, TINY)
            rows.append(("opt.delta", n, rel(p_w - p_w_prev[n], rep - p_w_prev[n]), tol, ""))
            p_w_prev[n] = p_w

        n_flag = sum(int(f.sum()) for f in flagged.values())
        rows.append(("flagged", "-", n_flag / n_all, TOL_FLAGGED, f"{n_flag} of {n_all} elements"))
        bad = [r for r in rows if not r[2] <= r[3]]  # NaN fails too
        print(f"step {t}: loss {loss_w:.6f} (ref {loss_ref:.6f})  grad_norm {gnorm_w:.6g} (ref {gnorm_ref:.6g})  "
              f"lr {lr:.4g}  clip scale {s_w:.6g}  flagged {n_flag} (+{n_new})  "
              f"{'ok' if not bad else f'{len(bad)} FAILED'}")
        print_table(rows, bad, args.show)
        failures += [(t,) + r for r in bad]

    if failures:
        t, kind, n, err, tol, _ = failures[0]
        print(f"check_parity: FAIL: {len(failures)} checks over tolerance; first: step {t} {kind} "
              f"{n}: {err:.3e} > {tol:.1e}", file=sys.stderr)
        return 1
    print(f"check_parity: ok: {len(files)} steps agree")
    return 0


if __name__ == "__main__":
    sys.exit(main())
