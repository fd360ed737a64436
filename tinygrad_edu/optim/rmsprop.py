"""RMSprop: divide each step by a running root-mean-square of recent gradients."""

from __future__ import annotations

import numpy as np

from .optimizer import Optimizer


class RMSprop(Optimizer):
    """RMSprop (Hinton's lecture notes; centered: Graves, 2013), following PyTorch's `RMSprop`.

    Args:
        params: Tensors, or parameter groups (dicts), to optimize.
        lr: learning rate (PyTorch's default, 1e-2).
        alpha: decay rate of the running average of the squared gradient.
        eps: added to the denominator, so that it is never zero.
        weight_decay: L2 penalty: adds `weight_decay * p` to the gradient.
        momentum: momentum factor for the scaled step (0: none).
        centered: divide by an estimate of the gradient's variance instead of its second
            moment (subtract the square of its running average).
        maximize: climb the objective instead of descending it.

    The update, for each parameter `p` with gradient `grad` (v, g_avg and buf start at 0):

        g = grad                                     (g = -grad if maximize)
        g = g + weight_decay * p                     if weight_decay != 0
        v = alpha * v + (1 - alpha) * g^2            running average of the squared gradient
        v_tilde = v
        if centered:
            g_avg = alpha * g_avg + (1 - alpha) * g  running average of the gradient
            v_tilde = v - g_avg^2
        if momentum > 0:
            buf = momentum * buf + g / (sqrt(v_tilde) + eps)
            p = p - lr * buf
        else:
            p = p - lr * g / (sqrt(v_tilde) + eps)

    There is no bias correction (unlike Adam). By hand, the first step with alpha = 0.99:
    v = 0.01 g^2, so p moves by lr * g / (0.1 |g| + eps), about 10 * lr against the sign of g.

    State per parameter: `step` (an int), `square_avg` (v), `momentum_buffer` (buf, with
    momentum > 0) and `grad_avg` (g_avg, when centered).
    """

    _state_keys = ("step", "square_avg", "momentum_buffer", "grad_avg")

    def __init__(self, params, lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0, momentum: float = 0, centered: bool = False, *,
                 maximize: bool = False):
        defaults = {"lr": lr, "alpha": alpha, "eps": eps, "weight_decay": weight_decay,
                    "momentum": momentum, "centered": centered, "maximize": maximize}
        super().__init__(params, defaults)

    def _check_options(self, options: dict, where: str) -> None:
        for option in ("lr", "alpha", "eps", "weight_decay", "momentum"):
            self._require_number(where, option, options[option])

    def _new_state(self, param, group: dict) -> dict:
        state = {"step": 0, "square_avg": np.zeros_like(param.data)}
        if group["momentum"] > 0:
            state["momentum_buffer"] = np.zeros_like(param.data)
        if group["centered"]:
            state["grad_avg"] = np.zeros_like(param.data)
        return state

    def _update_group(self, group: dict) -> None:
        lr, alpha, eps = group["lr"], group["alpha"], group["eps"]
        weight_decay, momentum = group["weight_decay"], group["momentum"]
        centered = group["centered"]
        for param, g, state in self._stepped(group):
            if weight_decay != 0:
                g = g + weight_decay * param

            v = state["square_avg"]
            v *= alpha
            v += (1 - alpha) * np.square(g)
            if centered:
                g_avg = state["grad_avg"]
                g_avg *= alpha
                g_avg += (1 - alpha) * g
                denominator = np.sqrt(v - np.square(g_avg))
            else:
                denominator = np.sqrt(v)
            denominator += eps

            if momentum > 0:
                buf = state["momentum_buffer"]
                buf *= momentum
                buf += g / denominator
                param -= lr * buf
            else:
                param -= lr * g / denominator
