"""Help for finding mistakes: anomaly mode, and the warnings every learner meets once.

Nothing here is needed to compute a gradient; the engine calls it from one line each:
- `detect_anomaly()`: every op checks its output for NaN/Inf and remembers the line of
  your code that made it; backward checks every gradient it computes. The first NaN is
  reported with the op, its inputs and that line.
- learner warnings: a `.grad` that accumulates over two backward calls, and reading the
  `.grad` of a non-leaf. Each is given once, and can be switched off.

This file imports nothing from the package (the engine, one floor up, imports it), so it
works with graph nodes by their attributes only: `name`, `inputs`, `_created_at`.
"""

from __future__ import annotations

import contextlib
import os
import traceback
import warnings

import numpy as np

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))

# ---------------------------------------------------------------------------------------
# Anomaly mode: find the first op that makes a NaN or an Inf.
# ---------------------------------------------------------------------------------------


class _AnomalyMode:
    def __init__(self):
        # One switch for the whole program, as in PyTorch: NaN hunting is not per thread.
        self.enabled = False


anomaly_mode = _AnomalyMode()


class detect_anomaly(contextlib.ContextDecorator):
    """Raise on the first NaN or Inf that an op produces, in forward or in backward.

    Inside `with tg.detect_anomaly():` every op remembers the file and line of the user's
    code that created it, and checks its output; every backward checks the gradients it
    returns. The error names the op, the shapes and ranges of its inputs and that line.
    It slows every op down: use it to hunt a NaN, not for training.
    """

    def __init__(self):
        self._previous: list = []  # a stack: the same instance may be re-entered

    def __enter__(self):
        # NumPy's own "invalid value" warnings are silenced inside: the error raised
        # here says more (which op, which inputs, which line of yours)
        quiet = np.errstate(invalid="ignore", divide="ignore", over="ignore")
        quiet.__enter__()
        self._previous.append((anomaly_mode.enabled, quiet))
        anomaly_mode.enabled = True
        return self

    def __exit__(self, *exc):
        anomaly_mode.enabled, quiet = self._previous.pop()
        quiet.__exit__(*exc)
        return False


def user_frame() -> str:
    """`file:line  code` of the innermost stack frame outside this package (your code)."""
    for frame in reversed(traceback.extract_stack()):
        if not os.path.abspath(frame.filename).startswith(_PACKAGE_DIR):
            return f"{frame.filename}:{frame.lineno}" + (f"  {frame.line}" if frame.line else "")
    return "<unknown>"


def _describe(value) -> str:
    """One line about an input: shape and range (NaN-aware), for anomaly messages."""
    data = getattr(value, "data", value)
    if not isinstance(data, np.ndarray) or data.size == 0 or data.dtype.kind not in "fiu":
        return repr(data) if not isinstance(data, np.ndarray) else f"shape {data.shape}"
    finite = data[np.isfinite(data)]
    rng = f"min {finite.min():.4g}, max {finite.max():.4g}" if finite.size else "no finite value"
    bad = data.size - finite.size
    return f"shape {data.shape}, {rng}" + (f", {bad} NaN/Inf" if bad else "")


def _is_bad_float(value) -> bool:
    data = getattr(value, "data", value)
    return (isinstance(data, np.ndarray) and data.dtype.kind == "f"
            and not np.isfinite(data).all())


def check_forward(node, inputs: tuple, out: np.ndarray) -> None:
    """Anomaly mode, after an op's forward: remember where it was made; raise if its
    output holds NaN/Inf, saying whether its inputs already did."""
    node._created_at = user_frame()
    if out.dtype.kind != "f" or np.isfinite(out).all():
        return
    lines = [f"detect_anomaly: {node.name} produced NaN/Inf in its forward output."]
    lines += [f"  input {i}: {_describe(x)}" for i, x in enumerate(inputs)]
    lines.append(f"  created at {node._created_at}")
    if any(_is_bad_float(x) for x in inputs):
        lines.append("  Its inputs already held NaN/Inf: look earlier, at where they were made.")
    raise FloatingPointError("\n".join(lines))


def backward_checked(node, grad_output) -> tuple:
    """Anomaly mode: run a node's backward, then check every gradient it returns.

    A backward is written with Tensor ops, and checked one by one, a NaN made inside
    Sqrt's backward would be blamed on the Div it uses. So the per-op checks are paused
    while it runs, and what it returns is checked instead, naming the node.
    """
    anomaly_mode.enabled = False
    try:
        grads = type(node).backward(node, grad_output)
    finally:
        anomaly_mode.enabled = True
    returned = grads if type(grads) is tuple else (grads,)
    for index, (g, needed) in enumerate(zip(returned, node.needs_input_grad)):
        values = getattr(g, "values", g)  # (the values of a slice's gradient)
        if needed and g is not None and _is_bad_float(values):
            lines = [f"detect_anomaly: the backward of {node.name} returned NaN/Inf "
                     f"in the gradient for its input {index}."]
            lines += [f"  input {i}: {_describe(x)}" for i, x in enumerate(node.inputs)]
            lines.append(f"  created at {node._created_at}")
            raise FloatingPointError("\n".join(lines))
    return grads


# ---------------------------------------------------------------------------------------
# Learner warnings: the two mistakes everyone makes once.
# ---------------------------------------------------------------------------------------


class LearnerWarning(UserWarning):
    """A warning about a common mistake (gradients that accumulate, a non-leaf's .grad)."""


# Each warning is given once per program; set an entry to False to turn it off for good,
# e.g. `tg.autograd.learner_warnings["accumulate"] = False` when accumulating on purpose.
learner_warnings = {"accumulate": True, "non_leaf_grad": True}
_warned: set[str] = set()


def warn_once(kind: str, message: str, stacklevel: int = 3) -> None:
    """Warn about `kind` the first time only (`stacklevel` points at the user's line)."""
    if learner_warnings.get(kind) and kind not in _warned:
        _warned.add(kind)
        warnings.warn(message + f" (tg.autograd.learner_warnings[{kind!r}] = False turns this "
                      "warning off)", LearnerWarning, stacklevel=stacklevel)
