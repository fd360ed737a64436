"""`Optimizer`: what every optimizer shares, as in PyTorch.

An optimizer holds

- `param_groups`: a list of dicts, each with `"params"` (a list of Tensors) and the
  options for them (`"lr"`, `"momentum"`, ...). A group leaves out an option to take
  the optimizer's default, so one model can train its parts at different rates.
- `state`: a dict from a parameter (the Tensor itself) to that parameter's running
  quantities (a momentum buffer, Adam's moments, a step count), created on its first step.

`step()` reads every parameter's `.grad` and updates `.data` in place; `zero_grad()`
clears the gradients, which otherwise accumulate over backward calls. The update rules
themselves live in the subclasses (`sgd.py`, `adam.py`, `rmsprop.py`, `adagrad.py`).

`state_dict()` packs all of this into PyTorch's layout, with parameters numbered in
order of appearance (the Tensors themselves cannot be saved):

    {"state": {0: {"step": 3, "exp_avg": array, ...}, 1: {...}},
     "param_groups": [{"lr": 0.001, ..., "params": [0, 1]}]}
"""

from __future__ import annotations

import numbers

import numpy as np

from ..grad_mode import enable_grad
from ..tensor import Tensor


class Optimizer:
    """The base class: parameter groups, per-parameter state, `step` and `zero_grad`.

    Args:
        params: an iterable of Tensors (one group), or of dicts (parameter groups:
            `{"params": [...], "lr": 0.1}`; options a group leaves out take `defaults`).
        defaults: each option's default value, e.g. `{"lr": 1e-3, "momentum": 0}`.

    A subclass sets the defaults, checks them (`_check_options`), creates a parameter's
    state (`_new_state`) and writes the update rule (`_update_group`).
    """

    def __init__(self, params, defaults: dict):
        self.defaults = {key: _python(value) for key, value in defaults.items()}
        self._check_options(self.defaults, "")
        self.state: dict[Tensor, dict] = {}
        self.param_groups: list[dict] = []

        if isinstance(params, Tensor):
            raise TypeError(f"{self._name}: params should be an iterable of Tensors or of dicts "
                            "(parameter groups), got a single Tensor: wrap it in a list, "
                            f"{self._name}([p], ...)")
        groups = list(params)
        if not groups:
            raise ValueError(f"{self._name}: got an empty parameter list. Pass the tensors to "
                             "optimize (model.parameters(), or a list of tensors created with "
                             "requires_grad=True); note that a generator such as "
                             "model.parameters() is used up after one pass")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    @property
    def _name(self) -> str:
        return type(self).__name__

    def __repr__(self) -> str:
        lines = [self._name + " ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines += [f"    {key}: {group[key]}" for key in sorted(group) if key != "params"]
        return "\n".join(lines) + "\n)"

    # --- parameter groups ----------------------------------------------------------------

    def add_param_group(self, param_group: dict) -> None:
        """Add a group of parameters with its own options (missing ones take the defaults).

        Useful when fine-tuning: unfreeze a layer and hand it to the running optimizer.
        """
        index = len(self.param_groups)
        where = f" (param group {index})"
        if not isinstance(param_group, dict) or "params" not in param_group:
            raise TypeError(f"{self._name}: a parameter group is a dict with a 'params' entry "
                            f"(and options such as 'lr'), got {param_group!r:.80}")
        params = param_group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, (set, frozenset)):
            raise TypeError(f"{self._name}{where}: params is a set, whose order can change from "
                            "run to run (and state_dict numbers parameters in order): use a list")
        params = list(params)
        if not params:
            raise ValueError(f"{self._name}{where}: the group's parameter list is empty")

        group_of = {p: i for i, group in enumerate(self.param_groups) for p in group["params"]}
        for position, p in enumerate(params):
            which = f"{self._name}{where}: parameter {position}"
            if not isinstance(p, Tensor):
                raise TypeError(f"{which} is a {type(p).__name__}, not a Tensor: an optimizer "
                                "updates Tensors (created with requires_grad=True)")
            if not p.requires_grad:
                raise ValueError(f"{which} (shape {p.shape}) does not require grad, so it would "
                                 "never get a gradient to step with: create it with "
                                 "requires_grad=True, or leave it out")
            if not p.is_leaf:
                raise ValueError(f"{which} (shape {p.shape}) is not a leaf: it was computed by "
                                 f"{p.grad_fn.name}. An optimizer updates the tensors you "
                                 "created; pass the leaves it was computed from")
            if p in group_of:
                other = group_of[p]
                place = "earlier in this group" if other == index else f"in param group {other}"
                raise ValueError(f"{which} (shape {p.shape}) is already {place}: a tensor may "
                                 "appear only once in an optimizer, or it would be updated twice")
            group_of[p] = index

        # NumPy scalars become Python numbers: a np.float64 lr would turn float32 updates
        # into float64 temporaries (a Python float keeps them float32)
        group = {key: _python(value) for key, value in param_group.items() if key != "params"}
        for key, default in self.defaults.items():
            group.setdefault(key, default)
        self._check_options(group, where)
        group["params"] = params
        self.param_groups.append(group)

    def _check_options(self, options: dict, where: str) -> None:
        """Raise a ValueError naming the optimizer, the option and its value if one is bad.

        `where` says which group ("" for the constructor's arguments). Each subclass
        checks its own options with `_require` and `_require_number`.
        """

    def _require(self, ok: bool, where: str, option: str, value, rule: str) -> None:
        """Raise `<Optimizer><where>: <option>=<value> is invalid: <rule>` unless `ok`."""
        if not ok:
            raise ValueError(f"{self._name}{where}: {option}={value!r} is invalid: {rule}")

    def _require_number(self, where: str, option: str, value, low: float = 0.0,
                        below: float | None = None) -> None:
        """Check that an option's value is a real number in [low, below) (or >= low)."""
        if not isinstance(value, numbers.Real) or isinstance(value, bool):
            raise TypeError(f"{self._name}{where}: {option} must be a number, "
                            f"got {type(value).__name__} {value!r:.40}")
        if below is None:
            self._require(low <= value, where, option, value, f"it must be >= {low:g}")
        else:
            self._require(low <= value < below, where, option, value,
                          f"it must be in [{low:g}, {below:g})")

    # --- one step --------------------------------------------------------------------------

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Clear every parameter's gradient before the next backward pass.

        Gradients accumulate (`backward` adds to `.grad`), so without this each step would
        use the sum of all gradients so far. `set_to_none=True` (PyTorch's default) drops
        them (`.grad` becomes None); `set_to_none=False` sets them to zeros.
        """
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                if set_to_none:
                    p.grad = None
                else:
                    # A new array rather than zeroing in place: backward may hand one array to
                    # several leaves (x + y gives both the same gradient), or a read-only view.
                    p.grad = Tensor._make(np.zeros_like(p.data), False, None)

    def step(self, closure=None):
        """Update every parameter that has a gradient; parameters whose `.grad` is None
        are skipped (their state is left alone too).

        `closure`, if given, is a function that zeroes the gradients, recomputes the loss,
        calls `backward` and returns the loss; it runs first (with grad mode on) and its
        loss is returned, as in PyTorch.
        """
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        # The updates work on `.data` (ndarrays) in place, so they record no graph.
        for group in self.param_groups:
            self._update_group(group)
            for p in group["params"]:
                if p.grad is not None:
                    p._bump_version()  # written in place
        return loss

    def _stepped(self, group: dict):
        """(parameter array, gradient, state) for each parameter of `group` that has a
        gradient, with its step count advanced and the gradient negated for `maximize`:
        the start of every update rule that counts steps (Adam, RMSprop, Adagrad)."""
        for p in group["params"]:
            if p.grad is None:
                continue
            g = p.grad.data  # may be shared or read-only: never written to
            if group["maximize"]:
                g = -g
            state = self._state_of(p, group)
            state["step"] += 1
            yield p.data, g, state

    def _update_group(self, group: dict) -> None:
        raise NotImplementedError(f"{self._name} must define _update_group(group)")

    # What a subclass keeps per parameter: "step" (an int) and arrays of the parameter's
    # shape. Listed so that load_state_dict can recognize another optimizer's state.
    _state_keys: tuple[str, ...] = ()

    def _new_state(self, param: Tensor, group: dict) -> dict:
        """A parameter's state before its first step (a subclass fills it in)."""
        return {}

    def _state_of(self, param: Tensor, group: dict) -> dict:
        """The parameter's state, created on first use."""
        state = self.state.get(param)
        if state is None:
            state = self.state[param] = self._new_state(param, group)
        return state

    # --- saving and loading -----------------------------------------------------------------

    def state_dict(self) -> dict:
        """The optimizer's state as plain values, in PyTorch's layout.

        `{"state": {index: {...}}, "param_groups": [{option: value, ..., "params": [index,
        ...]}]}`: parameters are numbered 0, 1, ... in order of appearance across the
        groups. Arrays are copies, tuples become lists and `step` is an int, so the result
        holds only dicts, lists, numbers, strings, bools, None and ndarrays (what `tg.save`
        can store).
        """
        index: dict[Tensor, int] = {}
        groups, state = [], {}
        for group in self.param_groups:
            packed = {key: _plain(value) for key, value in group.items() if key != "params"}
            packed["params"] = []
            for p in group["params"]:
                i = index[p] = len(index)
                packed["params"].append(i)
                if p in self.state:
                    state[i] = {key: value.copy() if isinstance(value, np.ndarray) else
                                _plain(value) for key, value in self.state[p].items()}
            groups.append(packed)
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore what `state_dict()` returned: the options of each group and the state.

        The groups must match this optimizer's in number and size, and every saved array
        must have its parameter's shape. Everything is checked before anything is
        changed, so on an error the optimizer is as it was. Arrays are copied (and cast to
        the parameter's dtype); option values come from the saved groups, as in PyTorch.
        """
        name = f"{self._name}.load_state_dict"
        if not isinstance(state_dict, dict) or not {"state", "param_groups"} <= state_dict.keys():
            raise ValueError(f"{name}: expected a dict with 'state' and 'param_groups' (what "
                             f"state_dict() returns), got {type(state_dict).__name__}")
        saved_groups = list(state_dict["param_groups"])
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(f"{name}: the state dict has {len(saved_groups)} param group(s), "
                             f"this optimizer has {len(self.param_groups)}")

        # Saved parameter numbers -> this optimizer's parameters, group by group, in order.
        param_of: dict[int, tuple[Tensor, dict, str]] = {}
        new_groups = []
        for g, (group, saved) in enumerate(zip(self.param_groups, saved_groups)):
            if not isinstance(saved, dict) or "params" not in saved:
                raise ValueError(f"{name}: param group {g} of the state dict should be a dict "
                                 f"with 'params', got {saved!r:.80}")
            saved_params = list(saved["params"])
            if len(saved_params) != len(group["params"]):
                raise ValueError(f"{name}: param group {g} has {len(saved_params)} parameter(s) "
                                 f"in the state dict and {len(group['params'])} here")
            new_group = {key: value for key, value in group.items() if key != "params"}
            for key, value in saved.items():
                if key != "params":
                    # numbers may come back from a file as NumPy scalars, and a tuple option
                    # (betas) is saved as a list
                    value = _python(value)
                    if isinstance(group.get(key), tuple) and isinstance(value, (list, np.ndarray)):
                        value = tuple(_python(v) for v in value)
                    new_group[key] = value
            self._check_options(new_group, f" (param group {g} of the loaded state dict)")
            new_groups.append(new_group)
            for position, (saved_index, p) in enumerate(zip(saved_params, group["params"])):
                param_of[int(saved_index)] = (p, new_group, f"param group {g}, parameter "
                                                            f"{position}")

        new_state = {}
        for saved_index, saved_state in state_dict["state"].items():
            if int(saved_index) not in param_of:
                raise ValueError(f"{name}: the state dict has state for parameter {saved_index}, "
                                 f"but its param groups number parameters 0 to {len(param_of) - 1}")
            p, new_group, which = param_of[int(saved_index)]
            new_state[p] = self._checked_state(name, which, p, new_group, saved_state)

        # Everything is valid: now assign (group dicts are updated in place, so references
        # to them, like a scheduler's, stay valid).
        for group, new_group in zip(self.param_groups, new_groups):
            params = group["params"]
            group.clear()
            group.update(new_group)
            group["params"] = params
        self.state = new_state

    def _checked_state(self, name: str, which: str, p: Tensor, group: dict, saved: dict) -> dict:
        """A copy of one parameter's saved state, after checking it fits the parameter."""
        if not isinstance(saved, dict):
            raise ValueError(f"{name}: the state of {which} should be a dict, "
                             f"got {type(saved).__name__}")
        unknown = [key for key in saved if key not in self._state_keys]
        expected = self._new_state(p, group).keys()
        missing = [key for key in expected if key not in saved]
        if unknown or (saved and missing):
            problem = f"has {unknown[0]!r}" if unknown else f"has no {missing[0]!r}"
            raise ValueError(f"{name}: the state of {which} {problem} ({self._name} keeps "
                             f"{', '.join(self._state_keys)}): was it saved by another "
                             "optimizer, or with other options?")
        state = {}
        for key, value in saved.items():
            if key == "step":  # a count, whatever type a file returned it as
                state[key] = int(value)
                continue
            value = np.asarray(value)  # (a file may give a 0-d array back as a NumPy scalar)
            if value.shape != p.shape:
                raise ValueError(f"{name}: the state of {which}: {key!r} has shape "
                                 f"{value.shape}, but the parameter has shape {p.shape}")
            state[key] = np.array(value, dtype=p.dtype)  # a copy, in the parameter's dtype
        return state


def _python(value):
    """A NumPy scalar (or 0-d array) as a Python number; a tuple elementwise so."""
    if isinstance(value, np.generic) or (isinstance(value, np.ndarray) and value.ndim == 0):
        return value.item()
    if isinstance(value, tuple):
        return tuple(_python(v) for v in value)
    return value


def _plain(value):
    """`_python(value)`, with tuples turned into lists (a state dict holds no tuples)."""
    value = _python(value)
    return [_plain(v) for v in value] if isinstance(value, tuple) else value
