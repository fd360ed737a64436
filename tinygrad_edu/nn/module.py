"""Module and Parameter: how a network keeps its weights.

A `Parameter` is a Tensor that a module owns and trains: a leaf with
`requires_grad=True`. A `Module` is an object with a `forward` method; the parameters
are simply its attributes. There is no registration: `named_parameters()` walks the
attributes (in the order they were set), descends into sub-modules and into lists,
tuples and dicts of them, and builds PyTorch's dotted names (`layers.0.weight`), so
that state dicts carry the same keys as PyTorch's for the same architecture.
"""

from __future__ import annotations

import threading
from collections import OrderedDict, namedtuple

import numpy as np

from .. import engine
from ..grad_mode import no_grad
from ..tensor import Tensor


class Parameter(Tensor):
    """A Tensor that a Module trains: a leaf that requires grad (unless told otherwise).

    `Parameter(tensor)` shares the tensor's array, as `torch.nn.Parameter` does; any other
    data is copied like `Tensor(data)`.
    """

    def __init__(self, data=None, requires_grad: bool = True, name: str | None = None):
        if data is None:
            data = np.empty(0, dtype=np.float32)
        if isinstance(data, Tensor):
            self.data = data.data
            if name is None and data.name is not None:
                name = data.name
        else:
            super().__init__(data)
        if name is not None:
            self.name = name
        self.requires_grad_(requires_grad)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()


class StateDictKeyError(KeyError):
    """load_state_dict's error for missing or unexpected keys: a KeyError (as PyTorch's
    code expects) that prints its message as written, not quoted on one line."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class ModuleCall:
    """One call of a module: the module and the call it happened inside (or None).

    While the call runs, every op recorded in its thread is marked with it (see
    `_mark_with_current_call`), so that a drawing of the graph can box each layer's ops.
    """

    __slots__ = ("module", "parent")

    def __init__(self, module, parent):
        self.module, self.parent = module, parent


class _Calls(threading.local):
    current = None  # the innermost Module call running in this thread


_calls = _Calls()


def _mark_with_current_call(node, output) -> None:
    """An engine observer, watching while the outermost module call runs: each recorded
    node is marked with the innermost call running when it was made."""
    node._module_call = _calls.current


IncompatibleKeys = namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])
IncompatibleKeys.__doc__ = "What load_state_dict(strict=False) did not match, as in PyTorch."


def _members(value, prefix: str):
    """(name, value) for a Module, Tensor, or a list/tuple/dict holding them, under `prefix`."""
    if isinstance(value, (Module, Tensor)):
        yield prefix, value
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            yield from _members(item, f"{prefix}.{i}")
    elif isinstance(value, dict):
        for key, item in value.items():
            if isinstance(key, str):
                yield from _members(item, f"{prefix}.{key}")


class Module:
    """The base class of every layer and model.

    Subclass it, set layers and Parameters as attributes in `__init__`, and write
    `forward`; call the module like a function:

        class MLP(tg.nn.Module):
            def __init__(self):
                super().__init__()
                self.hidden = tg.nn.Linear(2, 16)
                self.out = tg.nn.Linear(16, 1)

            def forward(self, x):
                return self.out(self.hidden(x).relu())

    `training` is True after construction and `train()`, False after `eval()` (Dropout
    and BatchNorm look at it). Tensors that are state but not trained (BatchNorm's running
    mean) are declared with `register_buffer`, so that the state dict includes them.
    """

    training = True
    _buffer_names = ()  # in the order they were registered

    def __init__(self):
        self.training = True

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} has no forward method: a Module "
                                  "subclass must define forward(self, ...)")

    def __call__(self, *args, **kwargs):
        # Every op recorded during forward remembers this call (node._module_call), so a
        # drawing of the graph can box each layer's ops together. Calls nest: a Linear
        # called inside a Sequential's forward has the Sequential's call as its parent.
        outer = _calls.current
        _calls.current = ModuleCall(self, outer)
        if outer is None:  # the outermost call: watch the graph until it returns
            observers = engine.push_observer(_mark_with_current_call)
        try:
            return self.forward(*args, **kwargs)
        finally:
            _calls.current = outer
            if outer is None:
                engine.pop_observer(observers)

    # --- what the module holds -------------------------------------------------------

    def _attributes(self):
        """(attribute name, Module or Tensor) for everything this module holds directly."""
        for name, value in vars(self).items():
            if not name.startswith("_"):
                yield from _members(value, name)

    def named_children(self):
        """(name, module) for each direct sub-module, in the order they were set."""
        for name, value in self._attributes():
            if isinstance(value, Module):
                yield name, value

    def children(self):
        """The direct sub-modules."""
        for _, module in self.named_children():
            yield module

    def named_modules(self, prefix: str = ""):
        """(dotted name, module) for this module ("") and every module inside it, each once."""
        seen = set()
        stack = [(prefix, self)]
        while stack:  # depth first, children in order (pushed reversed)
            name, module = stack.pop()
            if id(module) in seen:
                continue
            seen.add(id(module))
            yield name, module
            stack.extend(reversed([(f"{name}.{child_name}" if name else child_name, child)
                                   for child_name, child in module.named_children()]))

    def modules(self):
        """This module and every module inside it."""
        for _, module in self.named_modules():
            yield module

    def named_parameters(self, prefix: str = ""):
        """(dotted name, Parameter) for every parameter, each once (a shared one under the
        first name it is found by), in PyTorch's order."""
        seen = set()
        for module_name, module in self.named_modules(prefix):
            for name, value in module._attributes():
                if isinstance(value, Parameter) and id(value) not in seen:
                    seen.add(id(value))
                    yield (f"{module_name}.{name}" if module_name else name), value

    def parameters(self):
        """Every parameter, each once: what an optimizer is given."""
        for _, param in self.named_parameters():
            yield param

    def register_buffer(self, name: str, tensor: Tensor | None) -> None:
        """Keep `tensor` as state that is saved in the state dict but not trained."""
        if not isinstance(name, str) or not name.isidentifier() or name.startswith("_"):
            raise ValueError(f"register_buffer: {name!r} is not a usable attribute name")
        if name not in self._buffer_names:
            self._buffer_names = self._buffer_names + (name,)
        setattr(self, name, tensor)

    def named_buffers(self, prefix: str = ""):
        """(dotted name, Tensor) for every registered buffer."""
        for module_name, module in self.named_modules(prefix):
            for name in module._buffer_names:
                tensor = getattr(module, name)
                if tensor is not None:
                    yield (f"{module_name}.{name}" if module_name else name), tensor

    def buffers(self):
        for _, tensor in self.named_buffers():
            yield tensor

    def num_parameters(self, trainable_only: bool = False) -> int:
        """How many numbers the model learns."""
        return sum(p.numel() for p in self.parameters() if p.requires_grad or not trainable_only)

    # --- modes and gradients ---------------------------------------------------------

    def train(self, mode: bool = True) -> Module:
        """Put this module and every sub-module in training mode (or eval mode with False)."""
        for module in self.modules():
            module.training = bool(mode)
        return self

    def eval(self) -> Module:
        """Evaluation mode: Dropout passes inputs through, BatchNorm uses running stats."""
        return self.train(False)

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Clear every parameter's gradient (to None, as PyTorch does by default)."""
        for param in self.parameters():
            if set_to_none:
                param.grad = None
            elif param.grad is not None:
                param.grad = Tensor(np.zeros_like(param.data))

    def requires_grad_(self, requires_grad: bool = True) -> Module:
        """Freeze (False) or unfreeze every parameter."""
        for param in self.parameters():
            param.requires_grad_(requires_grad)
        return self

    def to(self, dtype) -> Module:
        """Convert every floating parameter and buffer (and gradient) to `dtype`, in place,
        as PyTorch's `module.to(dtype)`. The Parameter objects stay the same, so an
        optimizer made before still holds them (but create it after, as its state has
        the old dtype)."""
        dtype = np.dtype(dtype)
        if dtype.kind != "f":
            raise ValueError(f"Module.to: expected a floating dtype such as np.float64, got "
                             f"{dtype}")
        tensors = list(self.parameters()) + list(self.buffers())
        for tensor in tensors:
            if tensor.data.dtype.kind == "f":
                tensor.data = tensor.data.astype(dtype)
                tensor._bump_version()
                if tensor.grad is not None:
                    tensor.grad = Tensor(tensor.grad.data.astype(dtype))
        return self

    def double(self) -> Module:
        """Every floating parameter and buffer to float64 (for gradcheck)."""
        return self.to(np.float64)

    def float(self) -> Module:
        """Every floating parameter and buffer to float32."""
        return self.to(np.float32)

    # --- saving and loading ------------------------------------------------------------

    def _state_items(self):
        """(key, tensor) for the state dict, in PyTorch's order: each module's own
        parameters, then its own buffers, then its children's, depth first. Unlike
        `named_parameters`, a tensor shared by two modules appears under both names."""
        stack = [("", self, 0)]
        while stack:
            prefix, module, depth = stack.pop()
            if depth > 100:
                raise RuntimeError("state_dict: modules nested more than 100 deep; does a "
                                   "module contain itself?")
            children = []
            for name, value in module._attributes():
                if isinstance(value, Parameter):
                    yield prefix + name, value
                elif isinstance(value, Module):
                    children.append((prefix + name + ".", value, depth + 1))
            for name in module._buffer_names:
                tensor = getattr(module, name)
                if tensor is not None:
                    yield prefix + name, tensor
            stack.extend(reversed(children))

    def state_dict(self) -> OrderedDict:
        """Name -> Tensor for every parameter and buffer, with PyTorch's keys and order.

        As in PyTorch, the tensors share memory with the model (they are detached, not
        copied): training on changes them. Save them with `tg.save`, or copy them
        (`{k: v.numpy().copy() ...}`) to keep a snapshot.
        """
        return OrderedDict((key, tensor.detach()) for key, tensor in self._state_items())

    def load_state_dict(self, state_dict, strict: bool = True) -> IncompatibleKeys:
        """Copy the arrays in `state_dict` into this model's parameters and buffers.

        Values may be Tensors, ndarrays, or anything `np.asarray` takes (a PyTorch tensor
        too). Everything is checked before anything is written: a missing or unexpected
        key (with `strict=True`), a wrong shape or a non-numeric value raises a
        `KeyError`/`ValueError` naming the key and both shapes, and leaves the model
        exactly as it was. With `strict=False` keys may be missing or extra; the ones that
        were are returned.
        """
        if not hasattr(state_dict, "items"):
            raise TypeError("load_state_dict: expected a dict of arrays (such as "
                            "model.state_dict() or tg.load(path)), got "
                            + type(state_dict).__name__)
        not_names = [key for key in state_dict if not isinstance(key, str)]
        if not_names:
            raise TypeError(f"load_state_dict: keys must be names (str) such as '0.weight', "
                            f"got {not_names[0]!r} ({type(not_names[0]).__name__}). Nothing "
                            "was loaded.")
        own = OrderedDict(self._state_items())
        missing = [key for key in own if key not in state_dict]
        unexpected = [key for key in state_dict if key not in own]
        if strict and (missing or unexpected):
            lines = [f"load_state_dict: the state dict does not match {type(self).__name__}:"]
            if missing:
                lines.append(f"  missing keys (in the model, not in the state dict): "
                             f"{', '.join(missing)}")
            if unexpected:
                lines.append(f"  unexpected keys (in the state dict, not in the model): "
                             f"{', '.join(unexpected)}")
            lines.append("  Check that the architecture matches the one that was saved, or "
                         "pass strict=False to load only the keys that match. Nothing was "
                         "loaded.")
            raise StateDictKeyError("\n".join(lines))
        arrays = {}
        for key, target in own.items():
            if key not in state_dict:
                continue
            value = state_dict[key]
            array = value.data if isinstance(value, Tensor) else np.asarray(value)
            if array.dtype.kind not in "biuf":
                raise ValueError(f"load_state_dict: {key!r} holds {array.dtype} values, not "
                                 "numbers. Nothing was loaded.")
            if array.shape != target.shape:
                raise ValueError(
                    f"load_state_dict: size mismatch for {key!r}: the state dict has shape "
                    f"{array.shape}, the model's parameter has shape {target.shape}. Check "
                    "the layer sizes of the model you are loading into. Nothing was loaded.")
            arrays[key] = array
        with no_grad():  # all checked: now write, in place (an optimizer holds these tensors)
            for key, array in arrays.items():
                own[key].data[...] = array
                own[key]._bump_version()
        return IncompatibleKeys(missing, unexpected)

    # --- printing ------------------------------------------------------------------------

    def extra_repr(self) -> str:
        """The text inside this module's parentheses in repr (sizes and options)."""
        return ""

    def __repr__(self) -> str:
        # PyTorch's layout, with the number of parameters after each module that has any
        lines = [f"({name}): " + repr(child).replace("\n", "\n  ")
                 for name, child in self.named_children()]
        text = f"{type(self).__name__}({self.extra_repr()}"
        text += ("\n  " + "\n  ".join(lines) + "\n)") if lines else ")"
        count = self.num_parameters()
        if count:
            text += f"  # {count:,} parameter{'s' if count != 1 else ''}"
        return text
