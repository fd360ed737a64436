"""`tg.autograd`: the names of PyTorch's `torch.autograd`, gathered from the floors below.

Nothing is defined here; read the code where it lives:

- `Function`, `backward`, `grad`, `topological_order`: engine.py (the graph and the walk);
- `no_grad`, `enable_grad`, `is_grad_enabled`: grad_mode.py (the per-thread switch);
- `detect_anomaly`, `LearnerWarning`, `learner_warnings`: debug.py.
"""

from __future__ import annotations

from .debug import LearnerWarning, detect_anomaly, learner_warnings
from .engine import Function, backward, grad, topological_order
from .grad_mode import enable_grad, is_grad_enabled, no_grad

__all__ = ["Function", "LearnerWarning", "backward", "detect_anomaly", "enable_grad", "grad",
           "is_grad_enabled", "learner_warnings", "no_grad", "topological_order"]
