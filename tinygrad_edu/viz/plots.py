"""Plots for training: the loss curve and a classifier's decision boundary (matplotlib).

matplotlib is an optional dependency: `pip install "tinygrad_edu[plot]"`.
"""

from __future__ import annotations

import os
import sys

import numpy as np

from ..grad_mode import no_grad
from ..tensor import Tensor
from .graph import _display_once


def _pyplot():
    try:
        import matplotlib

        if (not os.environ.get("DISPLAY") and not os.environ.get("MPLBACKEND")
                and "ipykernel" not in sys.modules):  # (Jupyter draws inline)
            matplotlib.use("Agg")  # no screen: draw into files
        import matplotlib.pyplot as plt
    except ImportError:
        raise ImportError("plotting needs matplotlib: pip install 'tinygrad_edu[plot]' "
                          "(or pip install matplotlib)") from None
    return plt


def _finish(plt, fig, path):
    if path is not None:
        fig.savefig(os.fspath(path), dpi=120, bbox_inches="tight")
        plt.close(fig)
    else:  # in Jupyter: shown once, as the cell's last line or not (see _display_once;
        # pyplot's own flush at the end of the cell asks too)
        fig._ipython_display_ = lambda: _display_once(fig, lambda: _png(fig))
    return fig


def _png(fig) -> dict:
    """The figure as Jupyter shows it: a PNG (base64, as a raw display wants it)."""
    import base64
    from io import BytesIO

    png = BytesIO()
    fig.savefig(png, format="png", dpi=100, bbox_inches="tight")
    return {"image/png": base64.b64encode(png.getvalue()).decode("ascii")}


def plot_loss(history, path=None, title: str = "Training loss", log_scale: bool = False,
              xlabel: str = "epoch"):
    """Plot one curve per entry of `history` against the epoch (or step) number.

    `history` is a list of numbers, or a dict of them (`{"train": [...], "test": [...]}`);
    curves whose name says accuracy ("test accuracy") get an axis of their own, on the
    right. Saves to `path` when given; returns the matplotlib Figure (in Jupyter it shows
    once, whether or not it is the cell's last line).
    """
    plt = _pyplot()
    curves = history if isinstance(history, dict) else {"loss": history}
    losses = {k: v for k, v in curves.items() if "acc" not in k.lower()}
    accuracies = {k: v for k, v in curves.items() if "acc" in k.lower()}
    fig, ax = plt.subplots(figsize=(6, 4))
    lines = []
    for label, values in losses.items():
        values = [float(v) for v in values]
        lines += ax.plot(range(1, len(values) + 1), values, label=label)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("loss" if losses else "accuracy")
    if log_scale:
        ax.set_yscale("log")
    if accuracies:  # (a run's history holds both: accuracy gets an axis of its own)
        acc_ax = ax.twinx() if losses else ax
        for i, (label, values) in enumerate(accuracies.items()):
            values = [float(v) for v in values]
            lines += acc_ax.plot(range(1, len(values) + 1), values, label=label,
                                 linestyle="--", color=f"C{len(losses) + i}")
        acc_ax.set_ylabel("accuracy")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    if len(lines) > 1:
        ax.legend(lines, [line.get_label() for line in lines])
    return _finish(plt, fig, path)


def predict_classes(model, X: np.ndarray) -> np.ndarray:
    """Class predictions of `model` for the rows of X: argmax of the outputs, or, for a
    single output (a logit), whether it is positive."""
    with no_grad():
        out = model(Tensor(np.asarray(X, dtype=np.float32))).data
    if out.ndim == 1 or out.shape[-1] == 1:
        return (out.reshape(-1) > 0).astype(np.int64)
    return out.argmax(axis=-1)


def plot_decision_boundary(model, X, y, path=None, title: str = "Decision boundary",
                           resolution: int = 200):
    """Colour the plane by the class `model` predicts there, with the points (X, y) on top.

    For 2-D inputs. The model is evaluated on a `resolution` x `resolution` grid under
    no_grad. Saves to `path` when given; returns the matplotlib Figure.
    """
    plt = _pyplot()
    X, y = np.asarray(X), np.asarray(y)
    if X.ndim != 2 or X.shape[1] != 2:
        raise ValueError(f"plot_decision_boundary: needs 2-D points, X of shape (n, 2); got "
                         f"{X.shape}")
    pad = 0.1 * (X.max(axis=0) - X.min(axis=0)) + 1e-3
    lo, hi = X.min(axis=0) - pad, X.max(axis=0) + pad
    gx, gy = np.meshgrid(np.linspace(lo[0], hi[0], resolution),
                         np.linspace(lo[1], hi[1], resolution))
    grid = np.column_stack([gx.ravel(), gy.ravel()])
    classes = predict_classes(model, grid).reshape(gx.shape)
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.contourf(gx, gy, classes, alpha=0.3, cmap="coolwarm",
                levels=np.arange(classes.max() + 2) - 0.5)
    ax.scatter(X[:, 0], X[:, 1], c=y, cmap="coolwarm", edgecolors="k", s=18)
    ax.set_title(title)
    ax.set_aspect("equal")
    return _finish(plt, fig, path)
