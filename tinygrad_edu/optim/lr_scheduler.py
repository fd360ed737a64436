"""Learning-rate schedules: set each parameter group's `lr` as a function of the epoch.

    opt = optim.SGD(params, lr=0.1)
    scheduler = optim.lr_scheduler.StepLR(opt, step_size=30, gamma=0.1)
    for epoch in range(100):
        train_one_epoch(opt)        # opt.step() for each batch
        scheduler.step()            # after the optimizer's steps, as in PyTorch

Making a scheduler records each group's starting `lr` as `group["initial_lr"]` (the
*base* lr) and sets the lr of epoch 0; each `scheduler.step()` moves to the next epoch.
Every schedule here is written in closed form, lr = f(base lr, epoch). PyTorch's
`step()` computes most of them recursively instead (multiplying the group's current lr
by a factor), which gives the same numbers up to rounding as long as nothing else
changes the lr in between (another scheduler on the same optimizer, say).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable

import numpy as np

from .optimizer import Optimizer


class LRScheduler:
    """The base class: keeps `last_epoch` and sets each group's lr from `get_lr()`.

    Args:
        optimizer: the optimizer whose groups' `lr` to set.
        last_epoch: the last epoch already done: -1 (the default) starts afresh; a
            larger value resumes a schedule (the groups must then have `initial_lr`).

    A subclass writes `get_lr()`: the lr of every group at epoch `self.last_epoch`,
    computed from `self.base_lrs`.
    """

    _not_saved = ("optimizer",)  # what state_dict() leaves out

    def __init__(self, optimizer: Optimizer, last_epoch: int = -1):
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{type(self).__name__}: expected an Optimizer (such as "
                            f"optim.SGD(...)), got {type(optimizer).__name__}")
        self.optimizer = optimizer
        if last_epoch == -1:
            for group in optimizer.param_groups:
                group.setdefault("initial_lr", group["lr"])
        else:
            for i, group in enumerate(optimizer.param_groups):
                if "initial_lr" not in group:
                    raise KeyError(f"{type(self).__name__}: resuming at last_epoch={last_epoch}, "
                                   f"but param group {i} has no 'initial_lr': load the "
                                   "optimizer's state dict first, or start at last_epoch=-1")
        self.base_lrs: list[float] = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = last_epoch
        self.step()  # to epoch last_epoch + 1 (epoch 0 for a new schedule): sets its lr

    def get_lr(self) -> list[float]:
        """The lr of each group at epoch `self.last_epoch`."""
        raise NotImplementedError(f"{type(self).__name__} must define get_lr()")

    def step(self) -> None:
        """Move to the next epoch and set each group's lr for it.

        Call it after the epoch's `optimizer.step()` calls, as in PyTorch.
        """
        self.last_epoch += 1
        self._last_lr = [float(lr) for lr in self.get_lr()]
        for group, lr in zip(self.optimizer.param_groups, self._last_lr):
            group["lr"] = lr

    def get_last_lr(self) -> list[float]:
        """The lr of each group, as last set by this scheduler."""
        return list(self._last_lr)

    def state_dict(self) -> dict:
        """Everything the scheduler keeps, except the optimizer (which saves itself).

        Plain values only: `last_epoch`, `base_lrs`, `_last_lr` and the schedule's own
        settings (`step_size`, `gamma`, ...), as PyTorch keeps them.
        """
        return {key: list(value) if isinstance(value, list) else value
                for key, value in vars(self).items() if key not in self._not_saved}

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore what `state_dict()` returned. (The groups' lr is restored by the
        optimizer's own `load_state_dict`.)"""
        n = len(self.optimizer.param_groups)
        for key in ("base_lrs", "_last_lr"):
            if key in state_dict and len(state_dict[key]) != n:
                raise ValueError(f"{type(self).__name__}.load_state_dict: {key} has "
                                 f"{len(state_dict[key])} entries, but the optimizer has {n} "
                                 "param group(s)")
        unknown = sorted(set(state_dict) - set(vars(self)))
        if unknown:
            raise ValueError(f"{type(self).__name__}.load_state_dict: unknown entries "
                             f"{unknown}: was it saved by another scheduler?")
        for key, value in state_dict.items():
            if key in ("base_lrs", "_last_lr"):
                value = [float(lr) for lr in value]
            elif key == "last_epoch":
                value = int(value)
            elif isinstance(value, np.generic):  # a number, as a file may give it back
                value = value.item()
            setattr(self, key, value)


class StepLR(LRScheduler):
    """Multiply the lr by `gamma` every `step_size` epochs, as PyTorch's `StepLR`:

        lr(epoch) = base_lr * gamma ^ (epoch // step_size)

    With base lr 0.1, step_size=3, gamma=0.5: 0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025, ...
    """

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1,
                 last_epoch: int = -1):
        whole = isinstance(step_size, numbers.Integral) and not isinstance(step_size, bool)
        if not whole or step_size < 1:
            raise ValueError(f"StepLR: step_size={step_size!r} is invalid: it must be a whole "
                             "number of epochs, >= 1")
        self.step_size = step_size
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        return [base_lr * self.gamma ** (self.last_epoch // self.step_size)
                for base_lr in self.base_lrs]


class ExponentialLR(LRScheduler):
    """Multiply the lr by `gamma` every epoch, as PyTorch's `ExponentialLR`:

        lr(epoch) = base_lr * gamma ^ epoch
    """

    def __init__(self, optimizer: Optimizer, gamma: float, last_epoch: int = -1):
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        return [base_lr * self.gamma ** self.last_epoch for base_lr in self.base_lrs]


class CosineAnnealingLR(LRScheduler):
    """Follow half a cosine from the base lr down to `eta_min` over `T_max` epochs,
    as PyTorch's `CosineAnnealingLR` (SGDR, Loshchilov & Hutter, without restarts):

        lr(epoch) = eta_min + (base_lr - eta_min) * (1 + cos(pi * epoch / T_max)) / 2

    At epoch 0 this is base_lr, at T_max / 2 the midpoint, at T_max eta_min; after T_max
    the cosine climbs back up (period 2 * T_max). PyTorch's `step()` uses a recursive form,
    lr(t) = eta_min + (lr(t-1) - eta_min) * (1 + cos(pi t/T_max)) / (1 + cos(pi (t-1)/T_max)),
    which telescopes to this closed form (equal up to rounding).
    """

    def __init__(self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0,
                 last_epoch: int = -1):
        if not T_max > 0:
            raise ValueError(f"CosineAnnealingLR: T_max={T_max!r} is invalid: it must be > 0 "
                             "(the number of epochs from the base lr down to eta_min)")
        self.T_max = T_max
        self.eta_min = eta_min
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        cosine = (1 + math.cos(math.pi * self.last_epoch / self.T_max)) / 2  # from 1 down to 0
        return [self.eta_min + (base_lr - self.eta_min) * cosine for base_lr in self.base_lrs]


class LambdaLR(LRScheduler):
    """Set the lr to the base lr times a function of the epoch, as PyTorch's `LambdaLR`:

        lr(epoch) = base_lr * lr_lambda(epoch)

    `lr_lambda` is one function for every group, or a list with one per group. For a
    warm-up over 5 epochs: `LambdaLR(opt, lambda epoch: min(1.0, (epoch + 1) / 5))`.
    The functions are not part of `state_dict()` (they cannot be saved to a file); a
    restored scheduler keeps the ones it was made with.
    """

    _not_saved = ("optimizer", "lr_lambdas")

    def __init__(self, optimizer: Optimizer,
                 lr_lambda: Callable[[int], float] | list[Callable[[int], float]],
                 last_epoch: int = -1):
        n = len(optimizer.param_groups) if isinstance(optimizer, Optimizer) else 0
        if isinstance(lr_lambda, (list, tuple)):
            if len(lr_lambda) != n:
                raise ValueError(f"LambdaLR: lr_lambda is a list of {len(lr_lambda)} "
                                 f"function(s), but the optimizer has {n} param group(s): "
                                 "give one function per group, or a single function for all")
            self.lr_lambdas = list(lr_lambda)
        else:
            self.lr_lambdas = [lr_lambda] * n
        for i, fn in enumerate(self.lr_lambdas):
            if not callable(fn):
                raise TypeError(f"LambdaLR: lr_lambda[{i}] is a {type(fn).__name__}, not a "
                                "function of the epoch")
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        return [base_lr * fn(self.last_epoch) for base_lr, fn in zip(self.base_lrs,
                                                                       self.lr_lambdas)]
