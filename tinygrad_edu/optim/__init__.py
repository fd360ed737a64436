"""Optimizers and learning-rate schedules, following PyTorch's `torch.optim`.

    import tinygrad_edu as tg
    from tinygrad_edu import optim

    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    for x, y in batches:
        opt.zero_grad()             # gradients accumulate: clear them first
        loss = loss_fn(model(x), y)
        loss.backward()             # fills each parameter's .grad
        opt.step()                  # updates each parameter's .data in place

Each optimizer's docstring gives its update rule, enough to compute a step by hand.
Where to start reading: `optimizer.py` (the base class: parameter groups, state,
saving), then `sgd.py`; `lr_scheduler.py` changes `lr` from epoch to epoch.
"""

from . import lr_scheduler
from .adagrad import Adagrad
from .adam import Adam, AdamW
from .minimize import MinimizeResult, minimize
from .optimizer import Optimizer
from .rmsprop import RMSprop
from .sgd import SGD

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "lr_scheduler",
           "minimize", "MinimizeResult"]
