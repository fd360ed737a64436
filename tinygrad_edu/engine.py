"""The engine: what a graph node is, how an op is recorded, and the backward walk.

Read it top to bottom:

1. `Function`: the base class of every op. Each call of an op makes one instance of it,
   the *node*: it is the `ctx` that the op's forward and backward get, and, when a
   gradient will be needed, it stays in the graph as the output's `grad_fn`.
2. `Function.apply`: runs an op forward on NumPy arrays and records the node, with an
   edge to where each input's gradient must go (its *parents*).
3. `_walk`: the chain rule over the graph. From the output back to the leaves, newest
   node first, each node's backward turns the gradient of its output into gradients of
   its inputs, and `_accumulate` adds what reaches each node and leaf. The essential
   loop fits on one screen; each extra (hooks, retain_grad, drawing, checks, freeing,
   anomaly mode) is one named call or line in it.
4. `backward` and `grad`: the entry points. One adds the leaves' gradients into their
   `.grad`, the other returns the gradients asked for.

Floors: this file imports `grad_mode` and `debug`, which import nothing from the package.
The Tensor class is a few floors up, in tensor.py: its methods call the ops, which are
built on this file. So tensor.py hands its class down when it is imported
(`register_tensor_class`), and the engine makes its tensors (outputs, gradients) of it.
"""

from __future__ import annotations

import itertools
import threading
from heapq import heappop, heappush

import numpy as np

from . import debug
from .debug import anomaly_mode
from .grad_mode import _grad_mode, _SetGradMode

ndarray = np.ndarray

# The Tensor class (tensor.py), once it has registered itself. Ops read `engine.Tensor`
# when they run, never at import: this file is imported first.
Tensor = None


def register_tensor_class(cls) -> None:
    """Called once by tensor.py: the class of the tensors that ops and backward make."""
    global Tensor
    Tensor = cls


def wrap(array: np.ndarray):
    """An array as a Tensor outside the graph: a constant, or a gradient made with NumPy."""
    t = Tensor.__new__(Tensor)
    t.data = array
    return t


# ---------------------------------------------------------------------------------------
# 1. Function: one op, one node of the graph
# ---------------------------------------------------------------------------------------


class Function:
    """Base class of every op. Subclass it with two static methods:

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

    Reserved names. An op may read these on `ctx`, and may not assign them:
    `save_for_backward`, `saved_tensors`, `save_output`, `output`, `needs_input_grad`,
    `inputs`, `create_graph`, `parents`, `sequence`, `created_at`, `freed`, `name`,
    `apply`, `forward`, `backward`. Every name that starts with an underscore belongs to
    the engine. Any other name is the op's own (`ctx.axis = axis`, `ctx.value = 3.0`):
    nothing the engine does depends on it.
    """

    # What every node holds. These class attributes are the defaults, so that `apply`
    # only sets what differs (it runs for every op, and every attribute set costs time).
    inputs: tuple = ()             # the tensors (and constants) the op was applied to
    needs_input_grad: tuple = ()   # for each input: does it need a gradient?
    # The engine's own fields:
    _parents: tuple = ()           # for each input, where its gradient goes (see apply)
    _saved: tuple | None = ()      # what forward kept for backward; None once freed
    _output_data = None            # the output array, if forward kept it (save_output)
    _sequence = -1                 # the engine's clock when it was recorded (see `tick`)
    _options = None                # keyword settings (axis, shape...): check_graph re-runs
    _hooks = None                  # hooks registered on the output tensor
    _retained = None               # weak reference to the output, if it called retain_grad()
    _created_at = None             # "file:line  code" of the user's code that made the op
    # Kept for drawings, set by the floors above while they watch the graph being
    # recorded (see `push_observer`): tg.viz.trace and nn.Module calls.
    _value = None                  # the output array (tg.viz.trace)
    _grad_value = None             # d(root)/d(output) from the last backward (tg.viz.trace)
    _freed_saved = None            # what backward freed, kept under tg.viz.trace so that
                                   # explain_backward can replay it after backward()
    _module_call = None            # the nn.Module call that made the op
    # Set by an in-place op on this node's output (Tensor._write): a backward that reads
    # the output (save_output) would see the changed value, so it refuses, as PyTorch's.
    _output_overwritten = False
    # True for ops defined outside this package: their forward may compute with Tensor
    # ops (as PyTorch's tutorials write it), which must not record a graph of their own.
    _tensor_forward = True

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        cls._tensor_forward = not cls.__module__.startswith("tinygrad_edu.")

    # --- what forward and backward call -------------------------------------------------

    def save_for_backward(self, *values) -> None:
        """Keep tensors (or arrays, numbers) for backward. Freed after backward.

        A saved tensor must not change before backward uses it. Every in-place write
        through the library bumps a tensor's `_version` and stamps it with the engine's
        clock, so a write after this node was recorded can be told (`_changed_since_saved`).
        """
        self._saved = values

    @property
    def saved_tensors(self) -> tuple:
        """What forward saved, in the same order."""
        if self._saved is None:
            raise RuntimeError(_FREED_MESSAGE.format(name=self.name))
        return self._saved

    def _changed_since_saved(self) -> list:
        """The saved tensors written in place after this node was recorded."""
        return [x for x in self._saved or () if isinstance(x, Tensor)
                and x._written_at > self._sequence]

    def save_output(self, output: np.ndarray) -> np.ndarray:
        """Keep this op's own output for backward (exp, tanh, sigmoid, sqrt use it).

        Returns `output`, so forward can end with `return ctx.save_output(y)`.
        """
        self._output_data = output
        return output

    @property
    def output(self):
        """This op's output, as a Tensor connected to the graph (for backward).

        Only the array is stored, never the output Tensor itself: the output points to
        this node through `grad_fn`, and a pointer back would make a reference cycle that
        only the garbage collector could free.
        """
        if self._saved is None:
            raise RuntimeError(_FREED_MESSAGE.format(name=self.name))
        if self._output_data is None:
            raise RuntimeError(f"{self.name}.backward uses ctx.output, but its forward did "
                               "not call ctx.save_output(result)")
        out = Tensor.__new__(Tensor)  # (wrap, written out: tanh's backward runs it)
        out.data = self._output_data
        if _grad_mode.enabled:  # create_graph: the output is this node's, in the graph
            out.requires_grad, out.grad_fn = True, self
        return out

    @output.setter
    def output(self, value) -> None:
        raise AttributeError(
            f"{self.name}: ctx.output is reserved (backward reads the op's output from it). "
            "To keep the output for backward, end forward with `return ctx.save_output(y)`")

    @property
    def create_graph(self) -> bool:
        """Inside backward: is this backward being recorded (`backward(create_graph=True)`)?

        When it is, the gradients must be computed with Tensor ops so that they can be
        differentiated again; when not, a backward may compute them on arrays.
        """
        return _grad_mode.enabled  # the walk records exactly when create_graph is on

    @property
    def parents(self) -> tuple:
        """For each input, where its gradient goes: the node that made it, the input itself
        if it is a leaf, or None if it needs no gradient. Fixed when the op was recorded."""
        return self._parents

    @property
    def sequence(self) -> int:
        """The engine's clock when this node was recorded: larger than the numbers of the
        nodes it uses (-1 if it was not recorded)."""
        return self._sequence

    @property
    def created_at(self) -> str | None:
        """`file:line  code` of the user's code that made this op, when it was recorded
        inside `tg.detect_anomaly()` or `tg.viz.trace()`; None otherwise."""
        return self._created_at

    @property
    def freed(self) -> bool:
        """True once a backward without retain_graph has freed what forward saved."""
        return self._saved is None

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

    # --- 2. running an op ---------------------------------------------------------------

    @classmethod
    def apply(cls, *inputs, **options):
        """Run the op forward and, if a gradient will be needed, record it."""
        node = cls.__new__(cls)
        # For each input, where its gradient will go: the node that made it,
        # the input itself if it is a leaf, or nowhere (None). Fixed now: a
        # later in-place op may give the input a new grad_fn, but this op used
        # the old one. Known before forward runs, so that forward may look at
        # ctx.needs_input_grad.
        recording = False
        if _grad_mode.enabled:
            needs, parents = [], []
            for x in inputs:  # (a loop: a comprehension is a call in 3.11)
                if isinstance(x, Tensor) and x.requires_grad:
                    recording = True
                    needs.append(True)
                    parents.append(x.grad_fn or x)
                else:
                    needs.append(False)
                    parents.append(None)
            needs = tuple(needs)
            node.needs_input_grad = _SHARED.setdefault(needs, needs)
        else:
            node.needs_input_grad = (False,) * len(inputs)
        if recording and cls._tensor_forward:  # a user's op: forward unrecorded
            with _SetGradMode(False):
                out = cls.forward(node, *inputs, **options)
        else:
            out = (cls.forward(node, *inputs, **options) if options
                   else cls.forward(node, *inputs))
        if type(out) is not ndarray:
            out = out.data if isinstance(out, Tensor) else np.asarray(out)
        if anomaly_mode.enabled:
            debug.check_forward(node, inputs, out)  # raises on NaN/Inf
        result = Tensor.__new__(Tensor)  # the output (wrap(out), inlined)
        result.data = out
        if recording:  # keep the node: it becomes the output's grad_fn
            node.inputs = inputs
            node._parents = tuple(parents)
            node._sequence = tick()  # larger than any of its inputs' nodes
            if options:
                node._options = options
            if _watchers.observers:
                _notify_observers(node, out)
            result.requires_grad = True
            result.grad_fn = node
        return result


# The engine's clock: it numbers the recorded nodes in the order they are made, and the
# in-place writes to tensors among them (Tensor._bump_version). An op is recorded after
# its inputs, so its number is larger than theirs: backward visits nodes newest first
# (see topological_order). And a saved tensor written after the node that saved it has
# a larger number than the node (see Function._changed_since_saved).
# (Thread-safe: count() is atomic under the GIL.)
tick = itertools.count().__next__

# The clock's time of the last in-place write to a tensor (note_write): a node recorded
# after it cannot have a saved tensor that was changed, so the walk checks only older ones.
last_write = -1


def note_write(tensor) -> None:
    """Count an in-place write to `tensor` (its `_version`, as PyTorch's) and stamp it with
    the clock, so that a node that saved it earlier can tell (see _check_unchanged)."""
    global last_write
    tensor._version += 1
    tensor._written_at = last_write = tick()


# The few needs_input_grad tuples there are ((True,), (True, False), ...), one object each
# (apply shares them): a tuple per op would cost memory and garbage-collector time on a
# graph of 100,000 ops.
_SHARED: dict = {}

_FREED_MESSAGE = (
    "Trying to backward through the graph a second time: the values that {name} saved "
    "for its backward were freed by the first .backward(). Call .backward(retain_graph=True) "
    "the first time if you need to go through the graph again, or recompute the forward pass."
)


class _Watchers(threading.local):
    observers: tuple = ()  # functions called as f(node, output_array) for each new node


_watchers = _Watchers()


def push_observer(observer) -> tuple:
    """Call `observer(node, output_array)` for every node recorded in this thread from now
    on, until `pop_observer`. The floors above use it to annotate the graph without the
    engine knowing them: nn marks each op with the Module call that made it, tg.viz.trace
    keeps values for drawing. Returns what `pop_observer` restores."""
    previous = _watchers.observers
    _watchers.observers = previous + (observer,)
    return previous


def pop_observer(previous: tuple) -> None:
    """Stop the observer pushed last (pass what `push_observer` returned)."""
    _watchers.observers = previous


def _notify_observers(node: Function, out: np.ndarray) -> None:
    for observe in _watchers.observers:
        observe(node, out)


class unobserved:
    """No observers inside (tg.check_graph re-runs ops that are not part of the user's graph)."""

    def __enter__(self):
        self._previous = _watchers.observers
        _watchers.observers = ()

    def __exit__(self, *exc):
        _watchers.observers = self._previous
        return False


# ---------------------------------------------------------------------------------------
# 3. The backward walk
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
        for parent in node._parents:
            if isinstance(parent, Function) and parent not in found:
                found.add(parent)
                stack.append(parent)
    return sorted(found, key=_by_sequence, reverse=True)


def _by_sequence(node: Function) -> int:
    return node._sequence


def _walk(root, root_grad, retain_graph: bool, create_graph: bool,
          wanted=None) -> tuple[dict, set]:
    """The chain rule over the graph below `root`: {leaf: d(root)/d(leaf)}, and the set
    of leaves whose gradient array was made here (a sum of several), so is theirs alone.

    `sums` holds, for every node (and leaf) a gradient has reached, the sum of
    the gradients sent to its output so far: a tensor used by several ops gets
    one from each. A node runs its backward when it is the newest one waiting:
    by then every node that uses its output (all newer than it, see
    topological_order) has sent its share. `wanted`: nodes whose output's
    gradient to keep there (for `grad`).
    """
    checked = anomaly_mode.enabled  # NaN/Inf checks (detect_anomaly)
    sums: dict = {}     # node or leaf -> dL/d(its output), summed so far
    owned: set = set()  # keys of `sums` whose array was made here: ours
    waiting: list = []  # nodes that have a gradient: heap of (-sequence, node)
    # backward's own ops are recorded only for create_graph
    with _SetGradMode(create_graph):
        _accumulate(sums, owned, waiting, root.grad_fn or root, root_grad)
        while waiting:
            node = heappop(waiting)[1]    # the newest node with a gradient
            grad_output = sums.pop(node)  # complete: all its users have run
            if node._saved is None:       # freed by an earlier backward
                raise RuntimeError(_FREED_MESSAGE.format(name=node.name))
            if node._sequence < last_write:  # something was written in place since
                _check_unchanged(node)
            if node._hooks is not None:   # y.register_hook(fn), y its output
                grad_output = _run_hooks(node._hooks, grad_output)
            if node._retained is not None:  # y.retain_grad()
                _retain_grad(node, grad_output, create_graph)
            if node._value is not None:   # recorded inside tg.viz.trace()
                _keep_for_drawing(node, grad_output)
            if wanted is not None and node in wanted:  # tg.autograd.grad
                wanted[node] = grad_output
            # the chain rule, one step: dL/d(input) from dL/d(output)
            input_grads = (type(node).backward(node, grad_output)
                           if not checked  # else anomaly mode:
                           else debug.backward_checked(node, grad_output))
            if (type(input_grads) is not tuple
                    or len(input_grads) != len(node._parents)):
                input_grads = _one_per_input(node, input_grads)
            for x, parent, g in zip(node.inputs, node._parents, input_grads):
                if parent is not None and g is not None:
                    if (type(g) is not Tensor or g.data.shape != x.data.shape
                            or g.data.dtype is not x.data.dtype):
                        g = _fit(node, x, g)  # a dtype to convert, or a mistake
                    _accumulate(sums, owned, waiting, parent, g)
            if not retain_graph:          # free what forward saved
                if node._value is not None:  # (traced: kept for explain_backward)
                    node._freed_saved = (node._saved, node._output_data)
                node._saved = None
                if node._output_data is not None:  # (not a new attribute: a
                    node._output_data = None      # dict for each node)
    return sums, owned  # every node has been popped: what is left are the leaves


def _accumulate(sums: dict, owned: set, waiting: list, parent, g) -> None:
    """Add gradient `g` into the running sum of `parent` (a node, or a leaf tensor).

    The first gradient is kept as it is, not copied: it may be shared (Add hands the same
    gradient to both its inputs), so it is never changed in place. The second makes a new
    sum, ours (`owned`), and later ones are added into it in place. A slice's gradient (a
    SparseGrad) is added in place at its index, into a sum of our own.
    """
    total = sums.get(parent)
    if total is None:  # the first gradient to reach parent
        if type(g) is SparseGrad:
            g = wrap(g.dense())
            owned.add(parent)
        sums[parent] = g
        if isinstance(parent, Function):  # (a leaf has no backward to run)
            heappush(waiting, (-parent._sequence, parent))
    elif type(g) is SparseGrad:
        if parent not in owned:  # a sum we may not change: start one of our own
            total = sums[parent] = wrap(total.data.copy())
            owned.add(parent)
        add_at(total.data, g.index, g.values)
    elif _grad_mode.enabled:  # create_graph: the sum is part of the recorded graph
        sums[parent] = total + g
    elif parent in owned:  # a sum of our own: add in place
        total.data += g.data
    else:  # a new sum, on arrays (a Tensor `+` would cost a whole op)
        summed = total.data + g.data
        sums[parent] = wrap(summed if type(summed) is ndarray else np.asarray(summed))
        owned.add(parent)


class SparseGrad:
    """A gradient that is zero except at `index`: what `y = x[index]` sends back to x.

    GetItem's backward returns one when the walk is not recorded. Spread into an array of
    zeros the size of x, each would cost as much as x; `_accumulate` adds `values` at
    `index` of x's running sum instead. A sequence read one step at a time, x[0], x[1],
    ..., x[T-1], then costs T slices, not T arrays the size of x.
    """

    __slots__ = ("values", "index", "shape")

    def __init__(self, values: np.ndarray, index, shape: tuple):
        self.values, self.index, self.shape = values, index, shape

    @property
    def dtype(self):
        return self.values.dtype

    def dense(self) -> np.ndarray:
        """As a full array: zeros, with `values` added at `index`."""
        full = np.zeros(self.shape, dtype=self.values.dtype)
        add_at(full, self.index, self.values)
        return full


def add_at(target: np.ndarray, index, values: np.ndarray) -> None:
    """target[index] += values, adding every time an index repeats."""
    if index_has_arrays(index):
        # `target[index] += values` would keep only the last of repeated indices;
        # np.add.at adds every one of them
        np.add.at(target, index, values)
    else:
        target[index] += values  # slices, ints and masks never repeat: the fast form


def index_has_arrays(index) -> bool:
    """True when an index uses integer arrays, which may pick an element twice."""
    items = index if isinstance(index, tuple) else (index,)
    return any(isinstance(i, np.ndarray) and i.dtype != bool for i in items)


# --- the named calls of the walk --------------------------------------------------------


def _one_per_input(node: Function, grads) -> tuple:
    """What a backward returned, as a tuple with one entry per input; or a clear error."""
    if type(grads) is not tuple:
        grads = (grads,)
    if len(grads) != len(node._parents):
        raise RuntimeError(
            f"{node.name}.backward returned {len(grads)} gradient(s) but the op has "
            f"{len(node._parents)} input(s): return one per input (None for inputs that "
            "need no gradient)")
    return grads


def _fit(node: Function, x, g):
    """A gradient that backward returned for input `x`, as a Tensor (or a SparseGrad)
    with x's shape and dtype; or a clear error."""
    if not isinstance(g, (Tensor, SparseGrad)):
        g = wrap(np.asarray(g))
    if tuple(g.shape) != x.data.shape:
        index = next(i for i, input in enumerate(node.inputs) if input is x)
        raise RuntimeError(
            f"{node.name}.backward returned a gradient of shape {tuple(g.shape)} for input "
            f"{index}, which has shape {x.data.shape}. A gradient must have its input's "
            "shape: if the input was broadcast in forward, sum the gradient over the "
            "broadcast axes (tinygrad_edu.ops.unbroadcast does it).")
    if g.dtype != x.data.dtype:  # e.g. a float32 input combined with a float64 array
        if type(g) is SparseGrad:
            return SparseGrad(g.values.astype(x.data.dtype), g.index, g.shape)
        return g.astype(x.data.dtype)
    return g


def _check_unchanged(node: Function) -> None:
    """Refuse to run a backward whose saved values were changed by an in-place op."""
    changed = node._changed_since_saved()
    if not changed and not (node._output_overwritten and node._output_data is not None):
        return
    what = (f"its output (a tensor of shape {node._output_data.shape})" if not changed
            else ", ".join(_describe(x) for x in changed))
    raise RuntimeError(
        f"backward: {node.name} saved {what} for its backward, and an in-place op "
        f"(+=, *=, t[i] = v, add_, ...) changed it afterwards, so {node.name}'s derivative "
        "would be computed from the wrong values. Write that line out of place "
        "(y = y + 1 instead of y += 1), or change a .clone() instead. (PyTorch refuses "
        "too: 'a variable needed for gradient computation has been modified by an "
        "inplace operation'.)")


def _describe(x) -> str:
    name = f"'{x.name}' " if x.name else ""
    return f"tensor {name}of shape {x.data.shape} (now at version {x._version})"


def _run_hooks(hooks: list, grad):
    """Each hook sees the gradient; one that returns a Tensor replaces it."""
    for hook in hooks:
        replaced = hook(grad)
        if replaced is not None:
            _check_hooked(hook, replaced, grad)
            grad = replaced
    return grad


def _check_hooked(hook, replaced, grad) -> None:
    """A hook may change a gradient's values, not what it is: a Tensor, its shape, dtype."""
    name = f"hook {getattr(hook, '__name__', hook)}"
    if not isinstance(replaced, Tensor):
        raise RuntimeError(
            f"{name} returned a {type(replaced).__module__}.{type(replaced).__name__}, not a "
            f"Tensor: a hook returns None (to keep the gradient) or a Tensor of shape "
            f"{grad.shape} (to replace it); wrap an array as tg.tensor(array)")
    if replaced.shape != grad.shape:
        raise RuntimeError(
            f"{name} returned a gradient of shape {replaced.shape} for a tensor of shape "
            f"{grad.shape}: a hook may change the gradient's values, not its shape (return "
            "a Tensor of the same shape)")
    if replaced.dtype != grad.dtype:
        raise RuntimeError(
            f"{name} returned a gradient of dtype {replaced.dtype} for a gradient of dtype "
            f"{grad.dtype}: a hook may change the gradient's values, not its dtype (return "
            f"result.to({grad.dtype}))")


def _retain_grad(node: Function, grad_output, create_graph: bool) -> None:
    """Keep the gradient in `.grad` of the output that asked for it (retain_grad)."""
    output = node._retained()  # a weak reference: the output may be gone
    if output is not None:  # (a copy: .grad is the user's to edit, see _deliver)
        keep = grad_output.clone() if create_graph else wrap(grad_output.data.copy())
        output._grad = keep if output._grad is None else output._grad + keep


def _keep_for_drawing(node: Function, grad_output) -> None:
    """Under tg.viz.trace(): keep the gradient, so that draw_graph can show it."""
    node._grad_value = grad_output.data


# ---------------------------------------------------------------------------------------
# 4. Entry points: backward (into .grad) and grad (returned)
# ---------------------------------------------------------------------------------------


def backward(root, gradient=None, retain_graph=None, create_graph=False) -> None:
    """Accumulate d(root)/d(leaf) into `leaf.grad` for every leaf that requires grad."""
    if retain_graph is None:
        retain_graph = create_graph
    gradient = _root_gradient(root, gradient, "backward")
    leaf_grads, ours = _walk(root, gradient, retain_graph, create_graph)
    with _delivering:  # one backward at a time adds to .grad: threads lose no update
        for leaf, g in leaf_grads.items():
            _deliver(leaf, g, leaf in ours, create_graph)


# Held while gradients are added into `.grad`: two threads that call backward on graphs
# sharing a leaf would otherwise both read the old `.grad` and one sum would be lost.
_delivering = threading.Lock()


def _deliver(leaf, g, ours: bool, create_graph: bool) -> None:
    """Add a leaf's gradient into its `.grad`, after its hooks.

    `.grad` is the user's to edit (clip_grad_norm_ scales it in place), so it must be an
    array of its own: a gradient the walk did not make itself (`ours`) may be shared with
    another leaf (Add hands one gradient to both inputs), be the caller's own
    `backward(gradient)`, or be a read-only broadcast view (sum's backward); it is copied.
    """
    if leaf._hooks:
        hooked = _run_hooks(leaf._hooks, g)
        ours = ours and hooked is g
        g = hooked
    if not create_graph:
        g = g if ours and not g.requires_grad else wrap(g.data.copy())
    elif not ours:  # (the copy is recorded, as the gradient is part of a graph)
        g = g.clone()
    if leaf._grad is None:
        leaf._grad = g
    else:
        if leaf._grad._version == 0:  # (not zeroed in place, by grad.zero_())
            debug.warn_once("accumulate",
                            "backward() added to a .grad that already held a gradient: "
                            "gradients accumulate, so this is now the sum over both "
                            "backward calls. Clear them between steps with "
                            "optimizer.zero_grad() (or model.zero_grad(), x.grad = None "
                            "or x.grad.zero_()) unless you mean to add up",
                            stacklevel=5)  # the user's .backward() line
        leaf._grad = leaf._grad + g


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
    gradient = _root_gradient(outputs, grad_outputs, "grad")
    wanted = {x.grad_fn: None for x in inputs if x.grad_fn is not None}
    leaf_grads, ours = _walk(outputs, gradient, retain_graph, create_graph, wanted)
    grads = []
    for x in inputs:
        if x.grad_fn is not None:
            g = wanted[x.grad_fn]
        elif x in leaf_grads:
            g = _run_hooks(x._hooks, leaf_grads[x]) if x._hooks else leaf_grads[x]
        else:
            g = None
        if g is not None and not create_graph and x not in ours:
            g = wrap(g.data.copy())  # the caller's own array (see _deliver)
        grads.append(g)
    if not allow_unused:
        for i, g in enumerate(grads):
            if g is None:
                raise RuntimeError(f"grad: input {i} was not used to compute the output "
                                   "(pass allow_unused=True to get None for it)")
    return grads[0] if single else tuple(grads)


def _root_gradient(root, gradient, what: str):
    """d(root)/d(root): ones for a one-element root, else the user's `gradient`, checked."""
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
        return wrap(np.ones_like(root.data))
    data = gradient.data if isinstance(gradient, Tensor) else np.asarray(gradient)
    if data.shape != root.data.shape:
        raise RuntimeError(f"{what}: gradient has shape {data.shape} but the tensor has shape "
                           f"{root.data.shape}; pass a gradient of the same shape")
    if isinstance(gradient, Tensor) and data.dtype == root.data.dtype:
        return gradient
    return wrap(data.astype(root.data.dtype, copy=False))


class RemovableHandle:
    """Returned by `register_hook`; `.remove()` takes the hook out again."""

    def __init__(self, hooks: list, hook):
        self._hooks = hooks
        self._hook = hook

    def remove(self) -> None:
        if self._hook in self._hooks:
            self._hooks.remove(self._hook)
