#!/usr/bin/env python3
"""Speed and memory of tinygrad_edu against a hand-written NumPy baseline and PyTorch.

    python benchmarks/run.py                 # everything (a few minutes)
    python benchmarks/run.py --quick         # a smoke test: few rounds, smaller sizes
    python benchmarks/run.py --only W1,W3    # some of W1-W6, LSTM, GRU, RNN, SEQ, DEEP, VIZ,
                                             # PROFILE
    python benchmarks/run.py --profile       # also profile tinygrad_edu's W1, W2, W3 steps
    python benchmarks/run.py --threads 2     # BLAS with 2 threads (goal figures use 1)
    python benchmarks/run.py --no-torch      # as if PyTorch were not installed

Workloads (see benchmarks/README.md):
  W1    a training step of an MLP 784-256-256-10 (ReLU, cross-entropy, SGD), batch 128
  W2    200 small elementwise ops on a (16,) float32 tensor, forward + backward; per op
  W3    a training step of an MLP 2-16-16-1 (ReLU, BCE with logits, SGD) on 100 points
  W5    a training step of a small CNN: 32x1x28x28 -> Conv2d(1,8,3) -> ReLU ->
        Conv2d(8,16,3) -> ReLU -> Linear(16*24*24, 10), cross-entropy, SGD
  LSTM  a training step of an LSTM (input 32, hidden 128) over 50 steps, batch 32, MSE on
        a Linear of the last hidden state, SGD; the NumPy baseline is BPTT by hand
  GRU   the same with a GRU (gates r, z, n), and RNN with an Elman RNN (tanh): each
  RNN   against BPTT written by hand in NumPy
  W4    a 100,000-op scalar chain, forward + backward; plus each backend's peak RSS,
        measured in a fresh child process
  SEQ   a (300, 32, 128) sequence read one step at a time (h = h * 0.5 + x[t]), forward
        + backward: 300 slice gradients gathered into one
  W6    RSS sampled across 2,000 W1 training steps, one fresh child process per backend:
        it must stay flat
  DEEP  a 1,000,000-node chain backward with tinygrad_edu (in a child process): it must
        finish without RecursionError; its time and peak RSS
  VIZ   tg.viz.to_dot on 10,000-op graphs (a chain and a wide tree), folded at the
        default max_nodes and whole, and render of the folded one to SVG (Graphviz)
  PROFILE  cProfile of tinygrad_edu's W1, W2 and W3 steps: the top functions by own time

PyTorch is optional: without it its columns are skipped, with a note.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import inspect
import json
import linecache
import os
import pstats
import re
import subprocess
import sys
import tempfile
import time

import conv_workloads as CW
import harness as H
import numpy as np
import rnn_workloads as RW
import workloads as W

CONFIGS = {
    "full": {"w1_rounds": 21, "w1_steps": 20, "w5_rounds": 21, "w5_steps": 5,
             "lstm_rounds": 17, "lstm_steps": 3, "gru_rounds": 17, "gru_steps": 3,
             "rnn_rounds": 17, "rnn_steps": 5, "w2_rounds": 21, "w2_steps": 40,
             "w3_rounds": 21, "w3_steps": 200, "w4_ops": W.W4_OPS, "w4_rounds": 7,
             "w4_mem_reps": 3, "w6_steps": 2000, "w6_every": 100,
             "seq_rounds": 15, "seq_steps": 3,
             "deep_nodes": W.DEEP_NODES, "viz_ops": W.VIZ_OPS, "viz_rounds": 7,
             "profile_steps": {"W1": 100, "W2": 200, "W3": 1000, "W5": 20,
                               "LSTM": 20, "GRU": 20, "RNN": 20}},
    "quick": {"w1_rounds": 5, "w1_steps": 3, "w5_rounds": 3, "w5_steps": 2,
              "lstm_rounds": 3, "lstm_steps": 1, "gru_rounds": 3, "gru_steps": 1,
              "rnn_rounds": 3, "rnn_steps": 1, "w2_rounds": 5, "w2_steps": 10,
              "w3_rounds": 5, "w3_steps": 20, "w4_ops": 10_000, "w4_rounds": 3,
              "w4_mem_reps": 2, "w6_steps": 200, "w6_every": 50,
              "seq_rounds": 3, "seq_steps": 1,
              "deep_nodes": 100_000, "viz_ops": W.VIZ_OPS, "viz_rounds": 3,
              "profile_steps": {"W1": 10, "W2": 50, "W3": 100, "W5": 3,
                                "LSTM": 3, "GRU": 3, "RNN": 3}},
}
WORKLOADS = ("W1", "W2", "W3", "W4", "W5", "LSTM", "GRU", "RNN", "SEQ", "W6", "DEEP", "VIZ",
             "PROFILE")
DEFAULT_WORKLOADS = ("W1", "W2", "W3", "W4", "W5", "LSTM", "GRU", "RNN", "SEQ", "W6", "DEEP",
                     "VIZ")
PROFILED = ("W1", "W2", "W3", "W5", "LSTM", "GRU", "RNN")  # what PROFILE can profile

# Display names, in table order. The keys are what the child processes are told.
LABELS = {"numpy": "NumPy (hand-written)", "tinygrad_edu": "tinygrad_edu",
          "torch": "PyTorch (eager)"}

# gradients must agree with the NumPy baseline's to within TOL * max(1, max |grad|)
W2_TOL = 1e-4   # float32, 200 ops, summed in a different order
W4_TOL = 1e-9   # float64
SEQ_TOL = 1e-5  # float32, 300 steps of h * 0.5 + x[t]
TRAIN_TOL = 1e-5  # float32 training steps (W1, W3): gradients of a few layers, and weights
W6_FLAT_MB = 5    # W6: RSS growth after the warm-up must stay below this (MB = 10**6 bytes)
CHILD_TIMEOUT = 1800


def ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}x"


def verdict(ok: bool) -> str:
    return "MET" if ok else "NOT MET"


# ---------------------------------------------------------------------------------------
# the gradient check that comes before any timing
# ---------------------------------------------------------------------------------------


def check_against_numpy(steps: dict, tol: float, what: str) -> bool:
    """Run each backend once and compare its gradients with the NumPy baseline's."""
    reference = steps["numpy"]()
    limit = tol * H.scale_of(reference)
    ok = True
    parts = []
    for name, step in steps.items():
        if name == "numpy":
            continue
        diff = H.max_abs_diff(reference, step())
        good = diff <= limit
        ok &= good
        parts.append(f"{LABELS[name]} {diff:.3g}{'' if good else ' (TOO LARGE)'}")
    print(f"  check: max |grad - NumPy grad|: {', '.join(parts)}  (tolerance {limit:.3g})  "
          f"{'OK' if ok else 'FAILED'}")
    if not ok:
        print(f"  {what} ABORTED: a backend's gradients disagree with the NumPy baseline, so "
              "its timings would mean nothing.")
    return ok


# ---------------------------------------------------------------------------------------
# W1 and W3: training steps (forward, loss, backward, SGD update)
# ---------------------------------------------------------------------------------------

TRAIN_TITLES = {
    "W1": f"a training step of an MLP {'-'.join(map(str, W.W1_SIZES))} (ReLU), cross-entropy "
          f"(mean, integer labels), batch {W.W1_BATCH}, float32, SGD lr {W.LR}",
    "W3": f"a training step of an MLP {'-'.join(map(str, W.W3_SIZES))} (ReLU) on "
          f"{W.W3_POINTS} two-moons points, full batch, BCE with logits (mean), float32, "
          f"SGD lr {W.LR}",
    "W5": f"a training step of a CNN: {CW.W5_BATCH}x1x{CW.W5_SIDE}x{CW.W5_SIDE} -> "
          "Conv2d(1,8,3) -> ReLU -> Conv2d(8,16,3) -> ReLU -> flatten -> "
          f"Linear({CW.W5_FLAT}, 10), cross-entropy, float32, SGD lr {CW.LR} (NumPy: im2col "
          "by hand)",
    **{kind: f"a training step of {article} {kind} (input 32, hidden 128, 1 layer) over 50 "
              f"time steps, batch 32, MSE on Linear(128, 1) of the last state, float32, SGD "
              f"lr {RW.LR} (NumPy: backpropagation through time by hand)"
       for kind, article in (("LSTM", "an"), ("GRU", "a"), ("RNN", "an"))},
}


TRAIN_MAKERS = {**W.TRAIN_MAKERS, "W5": CW.W5_MAKERS, **RW.MAKERS}
# the targets: (largest tinygrad_edu/NumPy ratio, largest tinygrad_edu/PyTorch ratio)
TARGETS = {"W1": (1.10, 1.00), "W3": (None, 1.00), "W5": (1.25, None), "LSTM": (1.25, None),
           "GRU": (1.25, None), "RNN": (1.25, None)}


def build(makers: dict, tg, torch) -> dict:
    """{backend: what its maker returns}, each backend built from the same data: the NumPy
    maker takes no argument, the others the module (PyTorch only when installed)."""
    built = {"numpy": makers["numpy"](), "tinygrad_edu": makers["tinygrad_edu"](tg)}
    if torch is not None:
        built["torch"] = makers["torch"](torch)
    return built


def check_training(built: dict, what: str) -> bool:
    """One step each from the same start; compare gradients and updated weights with NumPy's."""
    states = {}
    for name, (step, state) in built.items():
        step()
        states[name] = state()
    reference = states["numpy"]
    n = len(reference) // 2
    ok = True
    for label, part in (("grad", slice(0, n)), ("weight after the step", slice(n, None))):
        limit = TRAIN_TOL * H.scale_of(reference[part])
        parts = []
        for name, values in states.items():
            if name == "numpy":
                continue
            diff = H.max_abs_diff(reference[part], values[part])
            good = diff <= limit
            ok &= good
            parts.append(f"{LABELS[name]} {diff:.3g}{'' if good else ' (TOO LARGE)'}")
        print(f"  check: max |{label} - NumPy's| over the {n} tensors: {', '.join(parts)}  "
              f"(tolerance {limit:.3g})")
    largest = max(float(np.max(np.abs(g))) for g in reference[:n])
    print(f"         (largest |grad| {largest:.3g}): {'OK' if ok else 'FAILED'}")
    if not ok:
        print(f"  {what} ABORTED: a backend disagrees with the NumPy baseline, so its timings "
              "would mean nothing.")
    return ok


def print_step_table(times: dict) -> dict:
    """The table of per-step medians against NumPy, and the ratios; returns the medians."""
    med = {name: H.median(t) for name, t in times.items()}
    rows = [[LABELS[name], H.fmt_time(med[name]), ratio(med[name], med["numpy"]),
             f"{H.spread(t)}, fastest round {H.fmt_time(min(t))}"]
            for name, t in times.items()]
    print(H.table(["backend", "median per step", "vs NumPy", "notes"], rows))
    tgm, npm = med["tinygrad_edu"], med["numpy"]
    print(f"  ratios of medians: tinygrad_edu/NumPy {ratio(tgm, npm)}", end="")
    tm = med.get("torch")
    print(f", PyTorch/NumPy {ratio(tm, npm)}, tinygrad_edu/PyTorch {ratio(tgm, tm)}"
          if tm is not None else "; PyTorch skipped (not installed or --no-torch)")
    return med


def run_train(workload: str, tg, torch, cfg) -> None:
    print(f"\n== {workload}: {TRAIN_TITLES[workload]} ==")
    built = build(TRAIN_MAKERS[workload], tg, torch)  # {backend: (step, state)}
    print("  one step = zero_grad (set to None), forward, loss, backward, SGD update "
          "(NumPy: in place, W -= lr * gW; tinygrad_edu: tg.optim.SGD; PyTorch: torch.optim.SGD)")
    if not check_training(built, workload):
        return
    key = workload.lower()
    rounds, per_batch = cfg[f"{key}_rounds"], cfg[f"{key}_steps"]
    print(f"  {rounds} rounds x {per_batch} steps per backend, order rotated each round "
          "(the weights keep training from step to step)")
    steps = {name: step for name, (step, _) in built.items()}
    med = print_step_table(H.interleaved(steps, per_batch, rounds, progress=workload))
    tgm, npm, tm = med["tinygrad_edu"], med["numpy"], med.get("torch")
    numpy_target, torch_target = TARGETS[workload]
    checks = []
    if numpy_target is not None:
        checks.append(f"tinygrad_edu/NumPy <= {numpy_target:.2f}: "
                      f"{verdict(tgm / npm <= numpy_target)}")
    if torch_target is not None:
        checks.append(f"tinygrad_edu/PyTorch <= {torch_target:.2f}: "
                      + (verdict(tgm / tm <= torch_target) if tm is not None else "not checked "
                         "without PyTorch"))
    print("  target: " + ("; ".join(checks) if checks else "none set (reported for comparison)"))


# ---------------------------------------------------------------------------------------
# W6: RSS across many W1 training steps, in fresh child processes
# ---------------------------------------------------------------------------------------


def run_w6(cfg, with_torch: bool, threads: int) -> None:
    n, every = cfg["w6_steps"], cfg["w6_every"]
    print(f"\n== W6: resident memory across {n:,} W1 training steps (after a {every}-step "
          "warm-up), one fresh child process per backend ==")
    backends = ["numpy", "tinygrad_edu"] + (["torch"] if with_torch else [])
    rows = []
    flat = True
    for name in backends:
        r = run_child(f"w6:{name}", n, every, threads)
        if r.get("status") != "ok":
            rows.append([LABELS[name], "-", "-", "-", "-", "-", "-", r.get("status", "?")])
            flat = False
            continue
        samples = r["rss_samples_kb"]
        first, last, top = samples[0], samples[-1], max(samples)
        growth = last - first
        good = growth < W6_FLAT_MB * 1e6 / 1024 and top - first < W6_FLAT_MB * 1e6 / 1024
        flat &= good
        rows.append([LABELS[name], H.mib(r["peak_kb"]), H.mib(r["rss_before_kb"]),
                     H.mib(first), H.mib(last), H.mib(top), f"{growth / 1024:+.1f} MiB",
                     f"{'flat' if good else 'GROWS'}; {r['gc_collected']} objects freed by "
                     f"the cycle collector; {H.fmt_time(r['seconds'] / (n + every))}/step"])
    print(H.table(["backend", "peak RSS", "RSS before", "first", "last", "max", "growth",
                   "notes"], rows))
    print(f"  RSS sampled every {every} steps from the end of the warm-up (first) to step "
          f"{n + every:,} (last); growth = last - first")
    print("  peak RSS = VmHWM of the whole child (interpreter, imports, workload); RSS before "
          "= after imports and set-up")
    print("  no gc.collect() in the loop: the garbage collector runs only when Python decides "
          "to, as in a training script")
    print(f"  target: flat, growth (and max - first) below {W6_FLAT_MB} MB for every backend: "
          f"{verdict(flat)}")
    if not with_torch:
        print("  PyTorch skipped (not installed or --no-torch)")


# ---------------------------------------------------------------------------------------
# W2
# ---------------------------------------------------------------------------------------


def run_w2(tg, torch, cfg) -> None:
    n_ops = W.W2_OPS
    print(f"\n== W2: a chain of {n_ops} elementwise ops (mul, add, tanh, ...) on a "
          f"({W.W2_SIZE},) float32 tensor, forward + backward ==")
    steps = build({"numpy": W.make_w2_numpy, "tinygrad_edu": W.make_w2_tinygrad,
                   "torch": W.make_w2_torch}, tg, torch)
    if not check_against_numpy(steps, W2_TOL, "W2"):
        return
    rounds, per_batch = cfg["w2_rounds"], cfg["w2_steps"]
    print(f"  {rounds} rounds x {per_batch} steps per backend, order rotated each round; "
          f"per op = step time / {n_ops}")
    print("  (the final .sum() and backward's start are in the time but not counted as ops)")
    times = H.interleaved(steps, per_batch, rounds, progress="W2")
    med = {name: H.median(t) for name, t in times.items()}
    rows = []
    for name, t in times.items():
        rows.append([LABELS[name], H.fmt_time(med[name] / n_ops), H.fmt_time(med[name]),
                     ratio(med[name], med["numpy"]),
                     f"{H.spread(t)}, fastest round {H.fmt_time(min(t) / n_ops)}/op"])
    print(H.table(["backend", "median per op", "per step", "vs NumPy", "notes"], rows))
    tgm = med["tinygrad_edu"]
    print(f"  ratios of medians: tinygrad_edu/NumPy {ratio(tgm, med['numpy'])}", end="")
    if torch is None:
        print("; PyTorch skipped (not installed)")
        return
    tm = med["torch"]
    print(f", PyTorch/NumPy {ratio(tm, med['numpy'])}, tinygrad_edu/PyTorch {ratio(tgm, tm)}")
    print(f"  target: tinygrad_edu per op <= PyTorch per op: {verdict(tgm <= tm)} "
          f"({H.fmt_time(tgm / n_ops)} vs {H.fmt_time(tm / n_ops)})")


# ---------------------------------------------------------------------------------------
# SEQ: a sequence read one step at a time
# ---------------------------------------------------------------------------------------


def run_seq(tg, torch, cfg) -> None:
    shape = W.SEQ_SHAPE
    print(f"\n== SEQ: a {shape} float32 sequence read one step at a time "
          f"(h = h * {W.SEQ_DECAY} + x[t]), loss (h * h).sum(), forward + backward ==")
    steps = build({"numpy": W.make_seq_numpy, "tinygrad_edu": W.make_seq_tinygrad,
                   "torch": W.make_seq_torch}, tg, torch)
    if not check_against_numpy(steps, SEQ_TOL, "SEQ"):
        return
    rounds, per_batch = cfg["seq_rounds"], cfg["seq_steps"]
    print(f"  {rounds} rounds x {per_batch} steps per backend, order rotated each round; "
          f"{shape[0]} slices x[t], each sending back the gradient of one step")
    print_step_table(H.interleaved(steps, per_batch, rounds, progress="SEQ"))


# ---------------------------------------------------------------------------------------
# W4 timing, and W4 memory in fresh child processes
# ---------------------------------------------------------------------------------------


def run_w4(tg, torch, cfg, no_torch: bool, threads: int) -> None:
    n_ops = cfg["w4_ops"]
    print(f"\n== W4: a {n_ops:,}-op scalar chain (h = tanh(h * w + w), ...), float64, "
          "forward + backward ==")
    steps = build({"numpy": lambda: W.make_w4_numpy(n_ops),
                   "tinygrad_edu": lambda tg: W.make_w4_tinygrad(tg, n_ops),
                   "torch": lambda torch: W.make_w4_torch(torch, n_ops)}, tg, torch)
    if check_against_numpy(steps, W4_TOL, "W4"):
        rounds = cfg["w4_rounds"]
        print(f"  {rounds} rounds x 1 run per backend, order rotated each round "
              "(the check above was the warm-up)")
        times = H.interleaved(steps, 1, rounds, warmup=False, progress="W4")
        med = {name: H.median(t) for name, t in times.items()}
        rows = [[LABELS[name], H.fmt_time(med[name]), H.fmt_time(med[name] / n_ops),
                 ratio(med[name], med["numpy"]), H.spread(t)]
                for name, t in times.items()]
        print(H.table(["backend", "median per run", "per op", "vs NumPy", "notes"], rows))
        tgm = med["tinygrad_edu"]
        print(f"  ratios of medians: tinygrad_edu/NumPy {ratio(tgm, med['numpy'])}", end="")
        if torch is None:
            print("; PyTorch skipped (not installed)")
        else:
            tm = med["torch"]
            print(f", PyTorch/NumPy {ratio(tm, med['numpy'])}, "
                  f"tinygrad_edu/PyTorch {ratio(tgm, tm)}")
            print(f"  target: completes, and tinygrad_edu <= PyTorch: {verdict(tgm <= tm)}")
    del steps
    gc.collect()
    run_w4_memory(cfg, torch is not None and not no_torch, threads)


def run_child(spec: str, n: int, reps: int = 1, threads: int = 1) -> dict:
    """Run this script in a fresh process for one measurement; its RESULT line, parsed."""
    cmd = [sys.executable, os.path.abspath(__file__), "--_child", spec, "--_n", str(n),
           "--_reps", str(reps), "--threads", str(threads)]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=CHILD_TIMEOUT)
    except subprocess.TimeoutExpired:
        return {"status": f"timed out after {CHILD_TIMEOUT} s"}
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT "):])
    tail = " | ".join(proc.stderr.strip().splitlines()[-3:])
    return {"status": f"child exited with code {proc.returncode}: {tail or 'no output'}"}


def run_w4_memory(cfg, with_torch: bool, threads: int) -> None:
    n_ops, reps = cfg["w4_ops"], cfg["w4_mem_reps"]
    print(f"\n-- W4 memory: one fresh child process per backend, {reps} runs of the "
          f"{n_ops:,}-op chain each --")
    backends = ["numpy", "tinygrad_edu"] + (["torch"] if with_torch else [])
    rows = []
    for name in backends:
        r = run_child(f"w4mem:{name}", n_ops, reps, threads)
        if r.get("status") != "ok":
            rows.append([LABELS[name], "-", "-", "-", r.get("status", "?")])
            continue
        samples = ", ".join(f"{kb / 1024:.0f}" for kb in r["rss_after_runs_kb"])
        rows.append([LABELS[name], H.mib(r["peak_kb"]), H.mib(r["rss_before_kb"]),
                     H.mib(r["peak_workload_kb"] - r["rss_before_kb"]),
                     f"RSS after each run: {samples} MiB"
                     + ("" if r["peak_reset"] else "; peak not resettable, increase approx.")])
    print(H.table(["backend", "peak RSS", "RSS before", "increase", "notes"], rows))
    print("  peak RSS   = VmHWM of the whole child: interpreter + imports + workload")
    print("  RSS before = the child's RSS after its imports and set-up, just before the "
          "workload")
    print("  increase   = peak RSS during the workload minus RSS before: what the graph "
          "itself costs")
    if not with_torch:
        print("  PyTorch skipped (not installed or --no-torch)")


# ---------------------------------------------------------------------------------------
# DEEP
# ---------------------------------------------------------------------------------------


def run_deep(cfg, with_torch: bool, threads: int) -> None:
    n = cfg["deep_nodes"]
    print(f"\n== DEEP: a {n:,}-node chain (y = y * {W.DEEP_FACTOR}) on a float64 scalar, "
          "backward, in a fresh child process ==")
    backends = ["tinygrad_edu"] + (["torch"] if with_torch else [])
    rows = []
    for name in backends:
        r = run_child(f"deep:{name}", n, 1, threads)
        if r.get("status") != "ok":
            rows.append([LABELS[name], r.get("status", "?"), "-", "-", "-", "-", "-", ""])
            continue
        rows.append([LABELS[name], "completed", H.fmt_time(r["forward_s"]),
                     H.fmt_time(r["backward_s"]), H.fmt_time(r["free_s"]),
                     H.mib(r["peak_kb"]), H.mib(r["peak_workload_kb"] - r["rss_before_kb"]),
                     f"grad {r['grad']:.9f}, rel. error {r['rel_error']:.1e}"])
    print(H.table(["backend", "status", "forward", "backward", "free graph", "peak RSS",
                   "increase", "notes"], rows))
    print(f"  expected gradient {W.deep_expected(n):.9f} (= {W.DEEP_FACTOR} ** {n}); "
          "'increase' = peak RSS during the workload minus the RSS just before it")
    if not with_torch:
        print("  PyTorch reference skipped (not installed or --no-torch)")


# ---------------------------------------------------------------------------------------
# VIZ: drawing big graphs
# ---------------------------------------------------------------------------------------

VIZ_WHOLE = 20_000  # max_nodes above the op count: every op drawn


def dot_counts(text: str) -> dict:
    """Ops (`n...`), leaves and the output (`t...`), the fold (`hidden`) and edges in DOT text."""
    return {"ops": len(re.findall(r"^\s*n\d+ \[", text, re.M)),
            "tensors": len(re.findall(r"^\s*t\d+ \[", text, re.M)),
            "folded": len(re.findall(r"^\s*hidden \[", text, re.M)),
            "edges": len(re.findall(r"^\s*\S+ -> \S+", text, re.M))}


def check_viz(tg, graphs: dict, n_ops: int, svg_dir: str | None) -> bool:
    """Each graph has n_ops ops; the folded drawing has max_nodes of them and the fold, the
    whole one all of them; dot turns the folded one into an SVG with one group per node."""
    default = inspect.signature(tg.viz.draw_graph).parameters["max_nodes"].default
    ok = True
    for name, output in graphs.items():
        found = W.count_ops(output)
        folded = dot_counts(tg.viz.to_dot(output))
        whole = dot_counts(tg.viz.to_dot(output, max_nodes=VIZ_WHOLE))
        good = (found == n_ops and folded["ops"] == default and folded["folded"] == 1
                and whole["ops"] == n_ops and whole["folded"] == 0)
        svg_nodes = "-"
        if svg_dir is not None:
            path = tg.viz.render(output, os.path.join(svg_dir, f"{name}.svg"))
            with open(path, encoding="utf-8") as file:
                svg_nodes = file.read().count('class="node"')
            good &= svg_nodes == folded["ops"] + folded["tensors"] + folded["folded"]
        ok &= good
        print(f"  check {name}: {found:,} ops; folded draws {folded['ops']:,} ops + "
              f"{folded['tensors']:,} leaves/output + the fold, {folded['edges']:,} edges "
              f"(SVG: {svg_nodes} node groups); whole draws {whole['ops']:,} ops + "
              f"{whole['tensors']:,} leaves/output, {whole['edges']:,} edges: "
              f"{'OK' if good else 'FAILED'}")
    if not ok:
        print("  VIZ ABORTED: a drawing does not hold the graph it should, so its timing "
              "would mean nothing.")
    return ok


def run_viz(tg, cfg) -> None:
    n_ops, rounds = cfg["viz_ops"], cfg["viz_rounds"]
    print(f"\n== VIZ: tg.viz.to_dot on {n_ops:,}-op graphs (a chain, and a wide tree with "
          f"{n_ops // 2:,} leaves), folded (default max_nodes) and whole "
          f"(max_nodes={VIZ_WHOLE:,}); render of the folded one to SVG with Graphviz ==")
    builders = {"chain": W.viz_chain, "wide": W.viz_wide}
    graphs = {name: build(tg, n_ops) for name, build in builders.items()}
    with tempfile.TemporaryDirectory() as svg_dir:
        try:
            tg.viz.render(graphs["chain"], os.path.join(svg_dir, "probe.svg"), max_nodes=2)
        except RuntimeError as error:  # no Graphviz program: time the text only
            print(f"  render skipped: {str(error).splitlines()[0]}")
            svg_dir = None
        if not check_viz(tg, graphs, n_ops, svg_dir):
            return
        steps = {}
        for name, output in graphs.items():
            steps[(name, "build")] = lambda build=builders[name]: build(tg, n_ops)
            steps[(name, "to_dot")] = lambda output=output: tg.viz.to_dot(output)
            steps[(name, "whole")] = lambda output=output: tg.viz.to_dot(
                output, max_nodes=VIZ_WHOLE)
            if svg_dir is not None:
                steps[(name, "render")] = lambda output=output, name=name: tg.viz.render(
                    output, os.path.join(svg_dir, f"{name}.svg"))
        print(f"  {rounds} rounds x 1 run of each, order rotated each round; 'build' is the "
              "forward pass that records the graph, for scale")
        times = H.interleaved(steps, 1, rounds, progress="VIZ")
    what = {"build": "build the graph (forward, for scale)",
            "to_dot": "to_dot, default max_nodes (folded)",
            "whole": f"to_dot, max_nodes={VIZ_WHOLE:,} (every op)",
            "render": "render to SVG, default max_nodes"}
    rows = []
    for (name, kind), t in times.items():
        med = H.median(t)
        rows.append([f"{name}: {what[kind]}", H.fmt_time(med), H.fmt_time(med / n_ops),
                     ratio(med, H.median(times[(name, "build")])), H.spread(t)])
    print(H.table(["graph: what", "median", "per op", "vs build", "notes"], rows))
    print("  per op = median / the graph's op count (not the number drawn); render includes "
          "draw_graph, running dot and writing the file")


def qualified_name(path: str, line: int, func: str) -> str:
    """`Mul.forward` rather than `forward`: the class a method at `line` is defined in."""
    lines = linecache.getlines(path)
    if not lines or line < 1 or not lines[line - 1].startswith((" ", "\t")):
        return func
    for text in reversed(lines[:line - 1]):
        match = re.match(r"class (\w+)", text)
        if match:
            return f"{match.group(1)}.{func}"
        if text.startswith(("def ", "async def ")):
            break
    return func


def run_profile(workload: str, tg, cfg, top: int = 15) -> None:
    n_steps = cfg["profile_steps"][workload]
    if workload == "W2":
        print(f"\n== PROFILE W2: cProfile of tinygrad_edu's W2 step ({n_steps} steps of "
              f"{W.W2_OPS} ops) ==")
        step = W.make_w2_tinygrad(tg)
    else:
        print(f"\n== PROFILE {workload}: cProfile of tinygrad_edu's {workload} training step "
              f"({n_steps} steps) ==")
        step, _ = TRAIN_MAKERS[workload]["tinygrad_edu"](tg)
    step()
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(n_steps):
        step()
    profiler.disable()
    stats = pstats.Stats(profiler).stats
    total = sum(entry[2] for entry in stats.values())
    ranked = sorted(stats.items(), key=lambda item: item[1][2], reverse=True)[:top]
    rows = []
    for (path, line, func), (_, ncalls, tottime, cumtime, _) in ranked:
        where = (os.path.relpath(path, H.ROOT) if path.startswith(H.ROOT)
                 else os.path.basename(path))
        if path == "~":
            name = re.sub(r" at 0x[0-9a-f]+", "", func)
        else:
            name = f"{where}:{line} {qualified_name(path, line, func)}"
        rows.append([name, f"{tottime / total:.1%}", f"{ncalls / n_steps:.0f}",
                     f"{tottime / ncalls * 1e6:.2f} us", f"{tottime / n_steps * 1e3:.3f} ms",
                     f"{cumtime / n_steps * 1e3:.3f} ms"])
    print(H.table(["function", "own time", "calls/step", "own per call", "own per step",
                   "cum per step"], rows))
    print(f"  total profiled: {total / n_steps * 1e3:.2f} ms per step (cProfile's overhead "
          "inflates this: compare shares, not absolute times)")
    if workload != "W2":
        print_phases(stats, total, workload)


# The parts of a training step, by the function that does each (its cumulative time).
PHASES = (("model forward", ("Module.__call__",)),
          ("loss", ("cross_entropy", "binary_cross_entropy_with_logits", "mse_loss")),
          ("backward", ("Tensor.backward",)),
          ("zero_grad + SGD step", ("Optimizer.zero_grad", "Optimizer.step")))


def print_phases(stats, total: float, workload: str) -> None:
    """Each phase's share of a training step; the matrix products' share (BLAS) too."""
    cum: dict[str, float] = {}
    for (path, line, func), (_, _, tottime, cumtime, _) in stats.items():
        if path.startswith(H.ROOT):
            name = qualified_name(path, line, func)
            cum[name] = cum.get(name, 0.0) + cumtime
            if name in ("Linear.forward", "MatMul.forward"):
                cum["BLAS"] = cum.get("BLAS", 0.0) + tottime
    parts = [f"{label} {sum(cum.get(n, 0.0) for n in names) / total:.0%}"
             for label, names in PHASES]
    print(f"  the step's phases (cumulative): {', '.join(parts)}")
    if workload in ("W1", "W3"):  # (MLPs: their matrix products are these two ops)
        print(f"  own time of Linear.forward and MatMul.forward (the matrix products, BLAS): "
              f"{cum.get('BLAS', 0.0) / total:.0%}; the rest is the framework's Python and "
              "small NumPy calls")


# ---------------------------------------------------------------------------------------
# child processes
# ---------------------------------------------------------------------------------------


def child_main(spec: str, n: int, reps: int, threads: int) -> None:
    kind, name = spec.split(":")
    torch = H.load_torch() if name == "torch" else None
    if name == "torch" and torch is None:
        print("RESULT " + json.dumps({"status": "torch is not installed"}))
        return
    tg = H.import_tinygrad_edu() if name == "tinygrad_edu" else None
    H.Threads(torch, threads)
    H.prime_allocator()
    result = {"status": "ok"}

    if kind == "w4mem":
        step = {"numpy": lambda: W.make_w4_numpy(n),
                "tinygrad_edu": lambda: W.make_w4_tinygrad(tg, n),
                "torch": lambda: W.make_w4_torch(torch, n)}[name]()
        H.freeze_heap()
        result["import_peak_kb"] = H.proc_status_kb("VmHWM")
        result["rss_before_kb"] = H.proc_status_kb("VmRSS")
        result["peak_reset"] = H.reset_peak_rss()
        samples = []
        for _ in range(reps):
            step()
            gc.collect()
            samples.append(H.proc_status_kb("VmRSS"))
        result["rss_after_runs_kb"] = samples

    elif kind == "w6":  # n training steps after a warm-up of `reps`, RSS every `reps` steps
        every = reps
        module = {"numpy": None, "tinygrad_edu": tg, "torch": torch}[name]
        maker = W.TRAIN_MAKERS["W1"][name]
        step, _ = maker() if module is None else maker(module)
        H.freeze_heap()
        result["import_peak_kb"] = H.proc_status_kb("VmHWM")
        result["rss_before_kb"] = H.proc_status_kb("VmRSS")
        result["peak_reset"] = H.reset_peak_rss()
        collected_before = sum(g["collected"] for g in gc.get_stats())
        samples = []
        t0 = time.perf_counter()
        for i in range(1, n + every + 1):
            step()
            if i % every == 0:
                samples.append(H.proc_status_kb("VmRSS"))
        result["seconds"] = time.perf_counter() - t0
        result["gc_collected"] = sum(g["collected"] for g in gc.get_stats()) - collected_before
        result["rss_samples_kb"] = samples

    elif kind == "deep":
        build = W.deep_build_tinygrad if name == "tinygrad_edu" else W.deep_build_torch
        module = tg if name == "tinygrad_edu" else torch
        H.freeze_heap()
        result["import_peak_kb"] = H.proc_status_kb("VmHWM")
        result["rss_before_kb"] = H.proc_status_kb("VmRSS")
        result["peak_reset"] = H.reset_peak_rss()
        try:
            t0 = time.perf_counter()
            x, y = build(module, n)
            t1 = time.perf_counter()
            y.backward()
            t2 = time.perf_counter()
            grad = float(x.grad.item())
            del y
            gc.collect()
            t3 = time.perf_counter()
        except RecursionError as error:
            print("RESULT " + json.dumps({"status": f"RecursionError: {error}"}))
            return
        expected = W.deep_expected(n)
        result.update(forward_s=t1 - t0, backward_s=t2 - t1, free_s=t3 - t2, grad=grad,
                      rel_error=abs(grad - expected) / expected)
    else:
        raise SystemExit(f"unknown child spec {spec!r}")

    result["peak_workload_kb"] = H.proc_status_kb("VmHWM")
    result["peak_kb"] = max(result["peak_workload_kb"], result["import_peak_kb"])
    print("RESULT " + json.dumps(result))


# ---------------------------------------------------------------------------------------
# main
# ---------------------------------------------------------------------------------------


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="few rounds and smaller sizes: a smoke test, not a measurement")
    parser.add_argument("--only", default="",
                        help="comma-separated workloads to run, from: " + ", ".join(WORKLOADS))
    parser.add_argument("--profile", action="store_true",
                        help="also profile tinygrad_edu's steps with cProfile (those of W1, "
                             "W2, W3 that run, or all three)")
    parser.add_argument("--no-torch", action="store_true",
                        help="skip PyTorch even if it is installed")
    parser.add_argument("--threads", type=int, default=1,
                        help="BLAS / OpenMP threads (default 1, as the goal figures use)")
    parser.add_argument("--_child", help=argparse.SUPPRESS)
    parser.add_argument("--_n", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--_reps", type=int, default=1, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.threads < 1:
        parser.error(f"--threads must be at least 1, got {args.threads}")
    if args.only:
        chosen = [w.strip().upper() for w in args.only.split(",") if w.strip()]
        unknown = [w for w in chosen if w not in WORKLOADS]
        if unknown:
            parser.error(f"unknown workload(s) {', '.join(unknown)}; choose from "
                         f"{', '.join(WORKLOADS)}")
    else:
        chosen = list(DEFAULT_WORKLOADS)
    if args.profile and "PROFILE" not in chosen:
        chosen.append("PROFILE")
    args.workloads = chosen
    return args


def main(argv=None) -> None:
    args = parse_args(argv)
    if args._child:
        child_main(args._child, args._n, args._reps, args.threads)
        return
    cfg = CONFIGS["quick" if args.quick else "full"]
    torch = H.load_torch(not args.no_torch)
    tg = H.import_tinygrad_edu()
    threads = H.Threads(torch, args.threads)
    H.prime_allocator()
    started = time.perf_counter()

    mode = "QUICK: a smoke test, not a measurement" if args.quick else "full"
    print(f"tinygrad_edu benchmarks ({mode}; workloads {', '.join(args.workloads)})")
    for line in H.environment_lines(tg, torch, threads, args.no_torch):
        print("  " + line)
    print("  method: same process, interleaved rounds with the order rotated, median per "
          "backend, ratios of medians;")
    print(f"          {H.SETTLE_SECONDS} s sleep before each timed batch, gc.collect() inside "
          "it (after gc.freeze() of the set-up),")
    print("          allocator primed once, gradients checked against NumPy before timing")

    if args.threads != 1:
        print(f"  NOTE: {args.threads} BLAS threads: the goal figures are measured with 1")

    with_torch = torch is not None
    if "W1" in args.workloads:
        run_train("W1", tg, torch, cfg)
    if "W2" in args.workloads:
        run_w2(tg, torch, cfg)
    if "W3" in args.workloads:
        run_train("W3", tg, torch, cfg)
    if "W4" in args.workloads:
        run_w4(tg, torch, cfg, args.no_torch, args.threads)
    for workload in ("W5", "LSTM", "GRU", "RNN"):
        if workload in args.workloads:
            run_train(workload, tg, torch, cfg)
    if "SEQ" in args.workloads:
        run_seq(tg, torch, cfg)
    if "W6" in args.workloads:
        run_w6(cfg, with_torch, args.threads)
    if "DEEP" in args.workloads:
        run_deep(cfg, with_torch, args.threads)
    if "VIZ" in args.workloads:
        run_viz(tg, cfg)
    if "PROFILE" in args.workloads:
        profiled = [w for w in PROFILED if w in args.workloads] or list(PROFILED)
        for workload in profiled:
            run_profile(workload, tg, cfg)
    print(f"\ndone in {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
