"""Adam and AdamW: steps scaled by running averages of the gradient and of its square."""

from __future__ import annotations

import math

import numpy as np

from .optimizer import Optimizer


class Adam(Optimizer):
    """Adam (Kingma & Ba, 2015), following PyTorch's `Adam`, including its defaults.

    Args:
        params: Tensors, or parameter groups (dicts), to optimize.
        lr: learning rate.
        betas: (beta1, beta2), the decay rates of the running averages of the gradient
            and of its square.
        eps: added to the denominator, so that it is never zero.
        weight_decay: L2 penalty: adds `weight_decay * p` to the gradient (see `AdamW` for
            the decoupled kind).
        amsgrad: divide by the largest second moment seen so far (Reddi et al., 2018).
        maximize: climb the objective instead of descending it.
        decoupled_weight_decay: shrink the parameter directly instead (this is `AdamW`).

    The update, for each parameter `p` with gradient `grad`, at its steps t = 1, 2, ...
    (m, v and v_max start at 0):

        g = grad                                     (g = -grad if maximize)
        g = g + weight_decay * p                     if weight_decay != 0
            (with decoupled_weight_decay, p = p * (1 - lr * weight_decay) instead)
        m = beta1 * m + (1 - beta1) * g              running average of the gradient
        v = beta2 * v + (1 - beta2) * g^2            ... and of its square
        m_hat = m / (1 - beta1^t)                    bias correction: m and v start at 0,
        v_hat = v / (1 - beta2^t)                    so early averages are too small
        (amsgrad: v_max = max(v_max, v), v_hat = v_max / (1 - beta2^t))
        p = p - lr * m_hat / (sqrt(v_hat) + eps)

    By hand, the first step: m_hat = g and v_hat = g^2, so p moves by
    lr * g / (|g| + eps), almost exactly lr against the sign of g, whatever the size of g.

    State per parameter: `step` (t, an int), `exp_avg` (m), `exp_avg_sq` (v), and with
    amsgrad `max_exp_avg_sq` (v_max).
    """

    _state_keys = ("step", "exp_avg", "exp_avg_sq", "max_exp_avg_sq")

    def __init__(self, params, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0, amsgrad: bool = False, *,
                 maximize: bool = False, decoupled_weight_decay: bool = False):
        if isinstance(betas, list):
            betas = tuple(betas)
        defaults = {"lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay,
                    "amsgrad": amsgrad, "maximize": maximize,
                    "decoupled_weight_decay": decoupled_weight_decay}
        super().__init__(params, defaults)

    def _check_options(self, options: dict, where: str) -> None:
        for option in ("lr", "eps", "weight_decay"):
            self._require_number(where, option, options[option])
        betas = options["betas"]
        self._require(isinstance(betas, (tuple, list)) and len(betas) == 2, where, "betas",
                      betas, "give two numbers, (beta1, beta2)")
        for i, beta in enumerate(betas):
            self._require_number(where, f"betas[{i}]", beta, 0.0, 1.0)

    def _new_state(self, param, group: dict) -> dict:
        state = {"step": 0, "exp_avg": np.zeros_like(param.data),
                 "exp_avg_sq": np.zeros_like(param.data)}
        if group["amsgrad"]:
            state["max_exp_avg_sq"] = np.zeros_like(param.data)
        return state

    def _update_group(self, group: dict) -> None:
        lr, (beta1, beta2), eps = group["lr"], group["betas"], group["eps"]
        weight_decay, amsgrad = group["weight_decay"], group["amsgrad"]
        decoupled = group["decoupled_weight_decay"]
        for param, g, state in self._stepped(group):
            t = state["step"]
            if weight_decay != 0:
                if decoupled:
                    param *= 1 - lr * weight_decay
                else:
                    g = g + weight_decay * param

            m, v = state["exp_avg"], state["exp_avg_sq"]
            m *= beta1
            m += (1 - beta1) * g
            v *= beta2
            v += (1 - beta2) * np.square(g)
            if amsgrad:
                v = np.maximum(state["max_exp_avg_sq"], v, out=state["max_exp_avg_sq"])

            # lr * m_hat / (sqrt(v_hat) + eps), with the bias corrections on the scalars:
            # sqrt(v_hat) = sqrt(v) / sqrt(1 - beta2^t) and m_hat = m / (1 - beta1^t)
            denominator = np.sqrt(v)
            denominator /= math.sqrt(1 - beta2 ** t)
            denominator += eps
            step_size = lr / (1 - beta1 ** t)
            param -= step_size * m / denominator


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter, 2019), as PyTorch's `AdamW`.

    Same arguments as `Adam`, but `weight_decay` (default 1e-2) shrinks the parameter
    directly, before the Adam step, instead of being added to the gradient:

        p = p * (1 - lr * weight_decay)
        ... then Adam's update with the plain gradient (m, v, m_hat, v_hat as in Adam):
        p = p - lr * m_hat / (sqrt(v_hat) + eps)

    With Adam's L2 penalty the decay term is divided by sqrt(v_hat) like the rest of the
    gradient, so parameters with large gradients are barely decayed; here every
    parameter shrinks by the same factor. By hand: a parameter whose gradient is always 0
    shrinks by exactly (1 - lr * weight_decay) per step.
    """

    def __init__(self, params, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 1e-2, amsgrad: bool = False, *,
                 maximize: bool = False):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize=maximize,
                         decoupled_weight_decay=True)
