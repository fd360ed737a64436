"""Adagrad: per-coordinate learning rates that shrink with the sum of squared gradients."""

from __future__ import annotations

import numpy as np

from .optimizer import Optimizer


class Adagrad(Optimizer):
    """Adagrad (Duchi, Hazan & Singer, 2011), following PyTorch's `Adagrad`.

    Args:
        params: Tensors, or parameter groups (dicts), to optimize.
        lr: learning rate (PyTorch's default, 1e-2).
        lr_decay: the learning rate at step t is lr / (1 + (t - 1) * lr_decay).
        weight_decay: L2 penalty: adds `weight_decay * p` to the gradient.
        initial_accumulator_value: the starting value of the sum of squared gradients.
        eps: added to the denominator, so that it is never zero.
        maximize: climb the objective instead of descending it.

    The update, for each parameter `p` with gradient `grad`, at its steps t = 1, 2, ...
    (`sum` starts at initial_accumulator_value):

        g = grad                                     (g = -grad if maximize)
        lr_t = lr / (1 + (t - 1) * lr_decay)
        g = g + weight_decay * p                     if weight_decay != 0
        sum = sum + g^2
        p = p - lr_t * g / (sqrt(sum) + eps)

    Coordinates that have had large gradients take small steps from then on; since `sum`
    only grows, the steps only shrink. By hand, the first step (sum starting at 0) moves
    each coordinate by lr * g / (|g| + eps), almost exactly lr against the sign of g.

    State per parameter: `step` (t, an int) and `sum`. As in PyTorch, it is created for
    every parameter when the optimizer is made (so `state_dict()` has it from the start).
    One difference: PyTorch starts `sum` at the constructor's initial_accumulator_value
    for every group; here a group's own value, if it gives one, is used.
    """

    _state_keys = ("step", "sum")

    def __init__(self, params, lr: float = 1e-2, lr_decay: float = 0, weight_decay: float = 0,
                 initial_accumulator_value: float = 0, eps: float = 1e-10, *,
                 maximize: bool = False):
        defaults = {"lr": lr, "lr_decay": lr_decay, "eps": eps, "weight_decay": weight_decay,
                    "initial_accumulator_value": initial_accumulator_value,
                    "maximize": maximize}
        super().__init__(params, defaults)
        for group in self.param_groups:
            for p in group["params"]:
                self._state_of(p, group)

    def _check_options(self, options: dict, where: str) -> None:
        for option in ("lr", "lr_decay", "weight_decay", "initial_accumulator_value", "eps"):
            self._require_number(where, option, options[option])

    def _new_state(self, param, group: dict) -> dict:
        return {"step": 0,
                "sum": np.full_like(param.data, group["initial_accumulator_value"])}

    def _update_group(self, group: dict) -> None:
        lr, lr_decay, eps = group["lr"], group["lr_decay"], group["eps"]
        weight_decay = group["weight_decay"]
        for param, g, state in self._stepped(group):
            if weight_decay != 0:
                g = g + weight_decay * param
            lr_t = lr / (1 + (state["step"] - 1) * lr_decay)

            total = state["sum"]
            total += np.square(g)
            denominator = np.sqrt(total)
            denominator += eps
            param -= lr_t * g / denominator
