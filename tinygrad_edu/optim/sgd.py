"""SGD: stochastic gradient descent, with optional momentum, Nesterov and weight decay."""

from __future__ import annotations

import numpy as np

from .optimizer import Optimizer


class SGD(Optimizer):
    """Stochastic gradient descent (optionally with momentum), following PyTorch's `SGD`.

    Args:
        params: Tensors, or parameter groups (dicts), to optimize.
        lr: learning rate (PyTorch's default, 1e-3).
        momentum: momentum factor (0: plain gradient descent).
        dampening: how much of the new gradient is damped out of the momentum buffer.
        weight_decay: L2 penalty: adds `weight_decay * p` to the gradient.
        nesterov: Nesterov momentum (needs momentum > 0 and dampening = 0).
        maximize: climb the objective instead of descending it.

    The update, for each parameter `p` with gradient `grad`, at steps t = 1, 2, ...:

        g = grad                                       (g = -grad if maximize)
        g = g + weight_decay * p                       if weight_decay != 0
        if momentum != 0:
            buf = g                                    at t = 1 (the first step: no dampening)
            buf = momentum * buf + (1 - dampening) * g at t > 1
            g = g + momentum * buf  if nesterov,  else  g = buf
        p = p - lr * g

    By hand: f(x) = x^2 from x = 5 with lr = 0.1: g = 2x = 10, x = 5 - 0.1 * 10 = 4; each
    step multiplies x by 0.8. With momentum = 0.5: buf = 10, x = 4; then g = 8,
    buf = 0.5 * 10 + 8 = 13, x = 4 - 1.3 = 2.7.

    State per parameter (only with momentum): `momentum_buffer`, created on the first step.
    """

    _state_keys = ("momentum_buffer",)

    def __init__(self, params, lr: float = 1e-3, momentum: float = 0, dampening: float = 0,
                 weight_decay: float = 0, nesterov: bool = False, *, maximize: bool = False):
        defaults = {"lr": lr, "momentum": momentum, "dampening": dampening,
                    "weight_decay": weight_decay, "nesterov": nesterov, "maximize": maximize}
        super().__init__(params, defaults)

    def _check_options(self, options: dict, where: str) -> None:
        for option in ("lr", "momentum", "weight_decay"):
            self._require_number(where, option, options[option])
        self._require_number(where, "dampening", options["dampening"], low=float("-inf"))
        if options["nesterov"]:
            self._require(options["momentum"] > 0 and options["dampening"] == 0, where,
                          "nesterov", True, "Nesterov momentum needs momentum > 0 and "
                          f"dampening = 0 (got momentum={options['momentum']!r}, "
                          f"dampening={options['dampening']!r})")

    def _update_group(self, group: dict) -> None:
        lr, weight_decay, maximize = group["lr"], group["weight_decay"], group["maximize"]
        momentum, dampening, nesterov = group["momentum"], group["dampening"], group["nesterov"]
        for p in group["params"]:
            if p.grad is None:
                continue
            param, g = p.data, p.grad.data  # g may be shared or read-only: never written to
            if maximize:
                g = -g
            if weight_decay != 0:
                g = g + weight_decay * param
            if momentum != 0:
                state = self._state_of(p, group)
                buf = state.get("momentum_buffer")
                if buf is None:  # the first step: the buffer starts as the gradient itself
                    # (np.array copies, and makes an array of a 0-d parameter's NumPy scalar)
                    buf = state["momentum_buffer"] = np.array(g, dtype=param.dtype)
                else:
                    buf *= momentum
                    buf += (1 - dampening) * g
                g = g + momentum * buf if nesterov else buf
            param -= lr * g
