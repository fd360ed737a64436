"""The engine: `Function` (one node of the graph), grad mode, and the backward walk.

Read this file top to bottom:

1. grad mode (`no_grad`, `enable_grad`): whether new ops are recorded at all;
2. anomaly mode (`detect_anomaly`): check every op for NaN/Inf and say where it came from;
3. `Function`: the base class of every op. `apply` runs `forward` on NumPy arrays and,
   when a gradient will be needed, keeps the node (the Function instance, which is also
   the `ctx`) as the output's `grad_fn`;
4. `backward`/`grad`: walk the graph from the output to the leaves, newest node first
   (an op is always newer than its inputs), calling each node's `backward` with the
   gradient of its output (the chain rule) and adding up what reaches each tensor.

The Tensor class lives in `tensor.py`, which needs this module as much as this module
needs it; each imports the other at its very end, once its own classes exist.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import os
import threading
import traceback
import warnings

import numpy as np

ndarray = np.ndarray

# ---------------------------------------------------------------------------------------
# 1. Grad mode: is the graph being recorded? One flag per thread, like PyTorch.
# ---------------------------------------------------------------------------------------


class _GradMode(threading.local):
    enabled = True  # the class attribute is each new thread's starting value
    module_call = None  # the innermost Module call running now (see nn.Module.__call__)
    trace = False       # keep every op's output value (see tg.viz.trace)


_grad_mode = _GradMode()


def is_grad_enabled() -> bool:
    """True when new ops record the graph (the default); False inside `no_grad()`."""
    return _grad_mode.enabled


class _SetGradMode(contextlib.ContextDecorator):
    """Context manager and decorator that sets grad mode for this thread, then restores it."""

    def __init__(self, enabled: bool):
        self.enabled = enabled
        self._previous: list[bool] = []  # a stack, so one instance can be nested

    def _recreate_cm(self):
        # As a decorator, each call gets its own instance: two threads calling the same
        # decorated function must not share one stack of previous modes.
        return type(self)(self.enabled)

    def __enter__(self):
        self._previous.append(_grad_mode.enabled)
        _grad_mode.enabled = self.enabled
        return self

    def __exit__(self, *exc):
        _grad_mode.enabled = self._previous.pop()
        return False


def no_grad() -> _SetGradMode:
    """Do not record ops (no `grad_fn`, nothing saved): for evaluation and optimizer steps.

    Works as `with tg.no_grad():` and as a decorator `@tg.no_grad()`. The mode is per
    thread: another thread keeps recording.
    """
    return _SetGradMode(False)


def enable_grad() -> _SetGradMode:
    """Record ops again, for example inside a `no_grad()` block."""
    return _SetGradMode(True)


# ---------------------------------------------------------------------------------------
# 2. Anomaly mode: find the first op that makes a NaN or an Inf.
# ---------------------------------------------------------------------------------------


_anomaly_enabled = False  # global, as in PyTorch: NaN hunting is a whole-program switch


# ---------------------------------------------------------------------------------------
# Learner warnings: the two mistakes everyone makes once.
# ---------------------------------------------------------------------------------------


class LearnerWarning(UserWarning):
    """A warning about a common mistake (gradients that accumulate, a non-leaf's .grad)."""


# Each warning is given once per program; set an entry to False to turn it off for good,
# e.g. `tg.autograd.learner_warnings["accumulate"] = False` when accumulating on purpose.
learner_warnings = {"accumulate": True, "non_leaf_grad": True}
_warned: set[str] = set()


def warn_once(kind: str, message: str, stacklevel: int = 3) -> None:
    """Warn about `kind` the first time only (`stacklevel` points at the user's line)."""
    if learner_warnings.get(kind) and kind not in _warned:
        _warned.add(kind)
        warnings.warn(message + f" (tg.autograd.learner_warnings[{kind!r}] = False turns this "
                      "warning off)", LearnerWarning, stacklevel=stacklevel)
_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


class detect_anomaly(contextlib.ContextDecorator):
    """Raise on the first NaN or Inf that an op produces, in forward or in backward.

    Inside `with tg.detect_anomaly():` every op remembers the file and line of the user's
    code that created it, and checks its output; every backward checks the gradients it
    returns. The error names the op, the shapes and ranges of its inputs and that line.
    It slows every op down: use it to hunt a NaN, not for training.
    """

    def __init__(self):
        self._previous: list = []  # a stack: the same instance may be re-entered

    def __enter__(self):
        global _anomaly_enabled
        # NumPy's own "invalid value" warnings are silenced inside: the error raised
        # here says more (which op, which inputs, which line of yours)
        quiet = np.errstate(invalid="ignore", divide="ignore", over="ignore")
        quiet.__enter__()
        self._previous.append((_anomaly_enabled, quiet))
        _anomaly_enabled = True
        return self

    def __exit__(self, *exc):
        global _anomaly_enabled
        _anomaly_enabled, quiet = self._previous.pop()
        quiet.__exit__(*exc)
        return False


def _user_frame() -> str:
    """`file:line` of the innermost stack frame outside this package (the user's code)."""
    for frame in reversed(traceback.extract_stack()):
        if not os.path.abspath(frame.filename).startswith(_PACKAGE_DIR):
            return f"{frame.filename}:{frame.lineno}" + (f"  {frame.line}" if frame.line else "")
    return "<unknown>"


def _describe(value) -> str:
    """One line about an input: shape and range (NaN-aware), for anomaly messages."""
    data = getattr(value, "data", value)
    if not isinstance(data, np.ndarray) or data.size == 0 or data.dtype.kind not in "fiu":
        return repr(data) if not isinstance(data, np.ndarray) else f"shape {data.shape}"
    finite = data[np.isfinite(data)]
    rng = f"min {finite.min():.4g}, max {finite.max():.4g}" if finite.size else "no finite value"
    bad = data.size - finite.size
    return f"shape {data.shape}, {rng}" + (f", {bad} NaN/Inf" if bad else "")


def _check_forward(node: Function, inputs: tuple, out: np.ndarray) -> None:
    if out.dtype.kind != "f" or np.isfinite(out).all():
        return
    already = any(
        isinstance(getattr(x, "data", x), np.ndarray)
        and getattr(x, "data", x).dtype.kind == "f"
        and not np.isfinite(getattr(x, "data", x)).all()
        for x in inputs
    )
    lines = [f"detect_anomaly: {node.name} produced NaN/Inf in its forward output."]
    lines += [f"  input {i}: {_describe(x)}" for i, x in enumerate(inputs)]
    lines.append(f"  created at {node.created_at}")
    if already:
        lines.append("  Its inputs already held NaN/Inf: look earlier, at where they were made.")
    raise FloatingPointError("\n".join(lines))


def _check_backward(node: Function, index: int, grad) -> None:
    if np.isfinite(grad.data).all():
        return
    lines = [f"detect_anomaly: the backward of {node.name} returned NaN/Inf "
             f"in the gradient for its input {index}."]
    lines += [f"  input {i}: {_describe(x)}" for i, x in enumerate(node.inputs)]
    lines.append(f"  created at {node.created_at}")
    raise FloatingPointError("\n".join(lines))


# ---------------------------------------------------------------------------------------
# 3. Function: one op, one node of the graph.
# ---------------------------------------------------------------------------------------

class Function:
    """Base class of every op. Subclass it with two static methods::

        class Square(tg.Function):
            @staticmethod
            def forward(ctx, x):            # x is a Tensor; compute with NumPy on x.data
                ctx.save_for_backward(x)
                return x.data ** 2          # an ndarray (or a Tensor)

            @staticmethod
            def backward(ctx, grad_output):  # d/dx x^2 = 2x
                (x,) = ctx.saved_tensors
                return grad_output * 2 * x   # written with Tensor ops

        y = Square.apply(x)

    `apply` calls `forward(ctx, *inputs, **options)`; positional inputs may be Tensors or
    constants (numbers, ndarrays), keyword options are settings such as `axis`.
    `backward(ctx, grad_output)` returns one gradient per positional input (a Tensor, or
    None where no gradient is needed: see `ctx.needs_input_grad`), each with the shape of
    its input. It is written with Tensor ops, so that `backward(create_graph=True)` can
    record it and differentiate it again.

    The instance passed as `ctx` is the graph node itself: it becomes the output's
    `grad_fn`, keeps `inputs` (the tensors it was applied to), and holds what forward saved.
    """

    # What every node holds. These class attributes are the defaults, so that `apply`
    # only sets what differs (it runs for every op, and every attribute set costs time).
    inputs: tuple = ()             # the tensors (and constants) the op was applied to
    needs_input_grad: tuple = ()   # for each input: does it need a gradient?
    saved: tuple | None = ()       # what forward kept for backward (save_for_backward);
                                   # None once backward has freed it (no retain_graph)
    output_data = None             # the output array, if forward kept it (save_output)
    hooks = None                   # hooks registered on the output tensor
    retained = None                # weak reference to the output, if it called retain_grad()
    created_at = None              # "file:line" of the user's code (detect_anomaly, viz.trace)
    sequence = -1                  # creation order of recorded nodes: inputs come first
    module_call = None             # the Module call that made this op (for drawing graphs)
    value = None                   # the output array, kept inside tg.viz.trace()
    grad_value = None              # d(root)/d(output) from the last backward, when traced

    # --- what forward and backward call -------------------------------------------------

    def save_for_backward(self, *values) -> None:
        """Keep tensors (or arrays, numbers) for backward. Freed after backward."""
        self.saved = values

    @property
    def saved_tensors(self) -> tuple:
        """What forward saved, in the same order."""
        if self.saved is None:
            raise RuntimeError(_FREED_MESSAGE.format(name=self.name))
        return self.saved

    def save_output(self, output: np.ndarray) -> np.ndarray:
        """Keep this op's own output for backward (exp, tanh, sigmoid, sqrt use it).

        Returns `output`, so forward can end with `return ctx.save_output(y)`.
        """
        self.output_data = output
        return output

    @property
    def output(self):
        """This op's output, as a Tensor connected to the graph (for backward).

        Only the array is stored, never the output Tensor itself: the output points to
        this node through `grad_fn`, and a pointer back would make a reference cycle that
        only the garbage collector could free.
        """
        if self.saved is None or self.output_data is None:
            raise RuntimeError(_FREED_MESSAGE.format(name=self.name)
                               if self.saved is None else
                               f"{self.name}.backward uses ctx.output, but its forward did "
                               "not call ctx.save_output(result)")
        return Tensor._make(self.output_data, _grad_mode.enabled, self)

    @property
    def freed(self) -> bool:
        """True once a backward without retain_graph has freed what forward saved."""
        return self.saved is None

    @property
    def name(self) -> str:
        """The op's name, as shown in graphs and error messages (`"MatMul"`, `"Relu"`)."""
        return type(self).__name__

    def __repr__(self) -> str:
        return f"<{self.name} node>"

    # --- to be written by each op -------------------------------------------------------

    @staticmethod
    def forward(ctx, *inputs, **options):
        raise NotImplementedError("a Function subclass must define forward(ctx, ...)")

    @staticmethod
    def backward(ctx, grad_output):
        raise NotImplementedError("a Function subclass must define backward(ctx, grad_output)")

    # --- running an op ------------------------------------------------------------------

    @classmethod
    def apply(cls, *inputs, **options):
        """Run the op forward and, if a gradient will be needed, record it in the graph."""
        node = cls.__new__(cls)
        # The output needs a gradient when grad mode is on and any input needs one.
        # (Known before forward runs, so forward may look at ctx.needs_input_grad.)
        requires_grad = False
        if _grad_mode.enabled:
            needs = []  # (a plain loop: a list comprehension costs a function call in 3.11)
            for x in inputs:
                needs.append(isinstance(x, Tensor) and x.requires_grad)
            node.needs_input_grad = tuple(needs)
            requires_grad = True in needs
        else:
            node.needs_input_grad = (False,) * len(inputs)
        try:
            out = cls.forward(node, *inputs, **options) if options else cls.forward(node, *inputs)
        except ValueError as error:
            if "broadcast" not in str(error) or str(error).startswith(node.name.lower()):
                raise
            raise _ops.broadcast_error(node.name.lower(), error, inputs) from None
        if type(out) is not ndarray:
            out = out.data if isinstance(out, Tensor) else np.asarray(out)
        if _anomaly_enabled:
            node.inputs = inputs
            node.created_at = _user_frame()
            _check_forward(node, inputs, out)

        if requires_grad:  # keep the node: it becomes the output's grad_fn
            node.inputs = inputs
            node.sequence = _next_sequence()  # larger than any of its inputs' nodes
            mode = _grad_mode
            if mode.module_call is not None:  # inside a Module's forward
                node.module_call = mode.module_call
            if mode.trace:
                node.value = out
                node.created_at = _user_frame()  # where the op was made, for tg.check_graph
            if options:  # keyword settings (axis, shape, index): check_graph re-runs the op
                node.options = options
            result = Tensor.__new__(Tensor)  # Tensor._make, inlined: it runs for every op
            result.data = out
            result.requires_grad = True
            result.grad_fn = node
            return result
        result = Tensor.__new__(Tensor)
        result.data = out
        return result


# Numbers the recorded nodes in the order they are created (thread-safe: count() is
# atomic under the GIL). backward visits nodes newest first; see topological_order.
_next_sequence = itertools.count().__next__

_FREED_MESSAGE = (
    "Trying to backward through the graph a second time: the values that {name} saved "
    "for its backward were freed by the first .backward(). Call .backward(retain_graph=True) "
    "the first time if you need to go through the graph again, or recompute the forward pass."
)


# ---------------------------------------------------------------------------------------
# 4. The backward walk.
# ---------------------------------------------------------------------------------------


def topological_order(root: Function) -> list[Function]:
    """The nodes that lead to `root`, each one before every node that it uses.

    That is the order backward needs: a node may pass its gradient on only once every
    node that uses its output has added its share. No search is needed to find it: an op
    is always created after its inputs, so its `sequence` number (the order of creation)
    is larger than theirs, and newest-first is such an order. The walk that collects the
    nodes uses an explicit stack: a recursive one would die on a graph a few thousand
    ops deep.
    """
    found = {root}
    stack = [root]
    while stack:
        node = stack.pop()
        for x, needs in zip(node.inputs, node.needs_input_grad):
            if needs and x.grad_fn is not None and x.grad_fn not in found:
                found.add(x.grad_fn)
                stack.append(x.grad_fn)
    return sorted(found, key=_by_sequence, reverse=True)


def _by_sequence(node: Function) -> int:
    return node.sequence


def _as_gradient(value, like, what: str):
    """Turn a user-supplied `gradient` into a Tensor with the shape and dtype of `like`."""
    data = value.data if isinstance(value, Tensor) else np.asarray(value)
    if data.shape != like.shape:
        raise RuntimeError(f"{what}: gradient has shape {data.shape} but the tensor has shape "
                           f"{like.shape}; pass a gradient of the same shape")
    if isinstance(value, Tensor) and data.dtype == like.dtype:
        return value
    return Tensor._make(data.astype(like.dtype, copy=False), False, None)


def _check_input_grad(node: Function, x, g):
    """Make sure the gradient a backward returned fits its input; fix the dtype only."""
    index = next(i for i, inp in enumerate(node.inputs) if inp is x)
    if not isinstance(g, Tensor):
        g = Tensor._make(np.asarray(g), False, None)
    if g.data.shape != x.data.shape:
        raise RuntimeError(
            f"{node.name}.backward returned a gradient of shape {g.data.shape} for input {index}, "
            f"which has shape {x.data.shape}. A gradient must have its input's shape: if the "
            "input was broadcast in forward, sum the gradient over the broadcast axes "
            "(tinygrad_edu.ops.unbroadcast does it).")
    if g.data.dtype != x.data.dtype:
        g = g.astype(x.data.dtype)  # e.g. float32 input combined with a float64 array
    if _anomaly_enabled:
        _check_backward(node, index, g)
    return g


def _backward_for_anomaly(node: Function, grad_output):
    """Run a node's backward with the per-op forward checks paused.

    A backward is written with Tensor ops; checked one by one, a NaN made in Sqrt's
    backward would be blamed on the Div inside it. Instead the gradients the node returns
    are checked (in _check_input_grad), and the error names the node.
    """
    global _anomaly_enabled
    _anomaly_enabled = False
    try:
        return type(node).backward(node, grad_output)
    finally:
        _anomaly_enabled = True


def _run_hooks(hooks, grad):
    for hook in hooks:
        replaced = hook(grad)
        if replaced is not None:
            if not isinstance(replaced, Tensor) or replaced.shape != grad.shape:
                shape = getattr(replaced, "shape", type(replaced).__name__)
                raise RuntimeError(
                    f"hook {getattr(hook, '__name__', hook)} returned a gradient of shape "
                    f"{shape} for a tensor of shape {grad.shape}: a hook may change the "
                    "gradient's values, not its shape (return a Tensor of the same shape)")
            grad = replaced
    return grad


def run_backward(root, gradient, retain_graph: bool, create_graph: bool, inputs=None):
    """The chain rule over the whole graph below `root`.

    With `inputs=None` (what `Tensor.backward` does) gradients are accumulated into the
    `.grad` of the leaves. With a list of tensors, their gradients are returned instead
    and no `.grad` is touched (what `tg.autograd.grad` and gradcheck use).
    """
    with _SetGradMode(create_graph):
        node_grads: dict[Function, Tensor] = {}  # gradient of each node's output so far
        leaf_grads: dict[Tensor, Tensor] = {}    # gradient of each leaf so far
        # ids of the sums made here, held by the stores above and by nothing else: those
        # can take the next gradient in place (without create_graph)
        owned: set[int] = set()
        if inputs is not None:  # gradients to capture, by the node that made each input
            wanted_nodes = {x.grad_fn: x for x in inputs if x.grad_fn is not None}
            found: dict[int, Tensor] = {}
        # The nodes waiting for their backward, newest first (see topological_order):
        # a heap ordered by -sequence. A node enters it when it receives its first
        # gradient; by the time it is the newest one waiting, every node that uses its
        # output (all newer than it) has run and added its share.
        waiting: list[tuple[int, Function]] = []
        if root.grad_fn is None:
            leaf_grads[root] = gradient
        else:
            node_grads[root.grad_fn] = gradient
            waiting.append((-root.grad_fn.sequence, root.grad_fn))

        while waiting:
            node = heapq.heappop(waiting)[1]
            grad_output = node_grads.pop(node)
            owned.discard(id(grad_output))  # from here on, backward may pass it along
            if node.saved is None:
                raise RuntimeError(_FREED_MESSAGE.format(name=node.name))
            if node.hooks is not None:
                grad_output = _run_hooks(node.hooks, grad_output)
            if node.value is not None:  # traced: keep this gradient for drawing
                node.grad_value = grad_output.data
            if inputs is not None:
                if node in wanted_nodes:
                    found[id(wanted_nodes[node])] = grad_output
            elif node.retained is not None and (retained := node.retained()) is not None:
                keep = grad_output if create_graph else grad_output.detach()
                retained._grad = keep if retained._grad is None else retained._grad + keep

            if type(node) is _ops.GetItem and not create_graph and not _anomaly_enabled:
                # x[index]'s backward would make a zero array of x's shape holding the
                # gradient at `index`; here it is added at `index` of x's running sum
                # instead. A sequence read one step at a time, x[0], x[1], ..., x[T-1],
                # then costs T slices, not T full-size arrays added together (T^2).
                _scatter_add(node, grad_output, node_grads, leaf_grads, owned, waiting)
                if not retain_graph:
                    node.saved = None
                continue
            # the chain rule, one step: dL/d(input) from dL/d(output)
            if _anomaly_enabled:
                input_grads = _backward_for_anomaly(node, grad_output)
            else:
                input_grads = type(node).backward(node, grad_output)
            if type(input_grads) is not tuple:
                input_grads = (input_grads,)
            if len(input_grads) != len(node.inputs):
                raise RuntimeError(
                    f"{node.name}.backward returned {len(input_grads)} gradient(s) but the op "
                    f"has {len(node.inputs)} input(s): return one per input (None for inputs "
                    "that need no gradient)")
            for x, needs, g in zip(node.inputs, node.needs_input_grad, input_grads):
                if g is None or not needs:
                    continue
                if (type(g) is not Tensor or g.data.shape != x.data.shape
                        or g.data.dtype is not x.data.dtype or _anomaly_enabled):
                    g = _check_input_grad(node, x, g)
                # add to what other paths sent to the same tensor (a tensor used twice)
                parent = x.grad_fn
                store, key = (leaf_grads, x) if parent is None else (node_grads, parent)
                previous = store.get(key)
                if previous is None:
                    store[key] = g
                    if parent is not None:
                        heapq.heappush(waiting, (-parent.sequence, parent))
                elif create_graph:
                    store[key] = previous + g  # recorded: the sum is part of the new graph
                elif id(previous) in owned:
                    previous.data += g.data    # a sum of our own: add in place
                else:
                    summed = Tensor.__new__(Tensor)  # Tensor._make, inlined (hot loop)
                    summed.data = previous.data + g.data
                    if summed.data.ndim == 0:  # NumPy gives a scalar for 0-d + 0-d
                        summed.data = np.asarray(summed.data)
                    store[key] = summed
                    owned.add(id(summed))
            if not retain_graph:  # free what forward saved (one store: stores cost time)
                node.saved = None
                if node.output_data is not None:
                    node.output_data = None

        if inputs is not None:
            for x in inputs:
                if x.grad_fn is None and x in leaf_grads:
                    g = leaf_grads[x]
                    found[id(x)] = _run_hooks(x._hooks, g) if x._hooks else g
            return [found.get(id(x)) for x in inputs]

        for leaf, g in leaf_grads.items():
            if leaf._hooks:
                g = _run_hooks(leaf._hooks, g)
            if not create_graph and g.requires_grad:  # (computed under no_grad: already is)
                g = g.detach()
            if leaf._grad is None:
                leaf._grad = g
            else:
                warn_once("accumulate",
                          "backward() added to a .grad that already held a gradient: "
                          "gradients accumulate, so this is now the sum over both backward "
                          "calls. Clear them between steps with optimizer.zero_grad() (or "
                          "model.zero_grad(), or x.grad = None) unless you mean to add up",
                          stacklevel=5)  # the user's .backward() line
                leaf._grad = leaf._grad + g
    return None


def _scatter_add(node, grad_output, node_grads, leaf_grads, owned, waiting) -> None:
    """GetItem's backward, added straight into the running gradient of its input x:
    d x[index] / dx is 1 at `index` and 0 elsewhere, so dL/dx[index] += grad_output
    (np.add.at for integer-array indices, which may pick an element twice)."""
    x = node.inputs[0]
    if not node.needs_input_grad[0]:
        return
    parent = x.grad_fn
    store, key = (leaf_grads, x) if parent is None else (node_grads, parent)
    total = store.get(key)
    if total is None or id(total) not in owned:  # start a sum of our own
        full = np.zeros(x.data.shape, dtype=x.data.dtype)
        if total is not None:
            full += total.data
        elif parent is not None:
            heapq.heappush(waiting, (-parent.sequence, parent))
        total = Tensor._make(full, False, None)
        store[key] = total
        owned.add(id(total))
    _ops.add_at(total.data, node.index, grad_output.data)


def _prepare_root(root, gradient, what: str):
    if not isinstance(root, Tensor):
        raise TypeError(f"{what}: expected a Tensor, got {type(root).__name__}")
    if not root.requires_grad:
        raise RuntimeError(
            f"{what}: this tensor does not require grad and has no grad_fn, so there is no "
            "graph to go back through. Create the inputs with requires_grad=True, and do not "
            "compute under tg.no_grad()")
    if gradient is None:
        if root.data.size != 1:
            raise RuntimeError(
                f"{what}: the tensor has shape {root.data.shape}; a gradient can be implied only "
                "for a one-element output. Reduce it first (e.g. y.sum().backward()) or pass "
                "gradient= with the same shape (the vector of a vector-Jacobian product)")
        return Tensor._make(np.ones_like(root.data), False, None)
    return _as_gradient(gradient, root.data, what)


def backward(root, gradient=None, retain_graph=None, create_graph=False) -> None:
    """Accumulate d(root)/d(leaf) into `leaf.grad` for every leaf that requires grad."""
    if retain_graph is None:
        retain_graph = create_graph
    gradient = _prepare_root(root, gradient, "backward")
    run_backward(root, gradient, retain_graph, create_graph)


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False,
         allow_unused=True):
    """Gradients of `outputs` with respect to `inputs`, returned, not stored in `.grad`.

    As `torch.autograd.grad`: `outputs` is a Tensor, `inputs` a Tensor or a sequence of
    them; an input that does not influence the output gets `None` (or an error when
    `allow_unused=False`).
    """
    single = isinstance(inputs, Tensor)
    inputs = [inputs] if single else list(inputs)
    if retain_graph is None:
        retain_graph = create_graph
    gradient = _prepare_root(outputs, grad_outputs, "grad")
    grads = run_backward(outputs, gradient, retain_graph, create_graph, inputs)
    if not allow_unused:
        for i, g in enumerate(grads):
            if g is None:
                raise RuntimeError(f"grad: input {i} was not used to compute the output "
                                   "(pass allow_unused=True to get None for it)")
    return grads[0] if single else tuple(grads)


class _RemovableHandle:
    """Returned by `register_hook`; `.remove()` takes the hook out again."""

    def __init__(self, hooks: list, hook):
        self._hooks = hooks
        self._hook = hook

    def remove(self) -> None:
        if self._hook in self._hooks:
            self._hooks.remove(self._hook)


# Last, so that this module is complete when tensor.py (which needs Function) runs.
from . import ops as _ops  # noqa: E402
from .tensor import Tensor  # noqa: E402
