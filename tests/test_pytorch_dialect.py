"""PyTorch's dialect: learner code written for PyTorch runs with `import tinygrad_edu as
torch` and gives PyTorch's numbers.

The learner code is written once, in tests/data/make_pytorch_dialect_reference.py, as
functions of the module they are given (always called `torch`). That script ran every one
with real PyTorch and stored the inputs, what came out (dtypes, shapes, values,
requires_grad) and the input gradients of sum(output * upstream) in
tests/data/pytorch_dialect_reference.json. Here the same functions run with `torch` =
tinygrad_edu, on the stored inputs and upstream weights, and must give the same: float64
to 1e-9 relative (tight enough to catch any wrong factor), float32 to 2e-6, integers,
booleans, dtypes, shapes and Python types exactly. PyTorch is never imported here.

Written here directly are the checks that PyTorch cannot answer: the library's own errors
(float16, other devices), random draws (seeded streams differ between the two libraries,
so they are checked for reproducibility and statistics), and object identity (an in-place
op keeps the Python object; `.data` is an ndarray here).
"""

from __future__ import annotations

import builtins
import importlib.util
import json
import operator
import sys
from pathlib import Path

import numpy as np
import pytest

import tinygrad_edu as tg
import tinygrad_edu.nn.functional as F
from tinygrad_edu import nn

DATA = Path(__file__).parent / "data"


def _load_learner_code():
    """The script that made the fixture, imported as a module (it imports torch only when
    run as a script): its CASES are the learner code, its `run` runs one."""
    path = DATA / "make_pytorch_dialect_reference.py"
    spec = importlib.util.spec_from_file_location("make_pytorch_dialect_reference", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


dialect = _load_learner_code()
REFERENCE = json.loads((DATA / "pytorch_dialect_reference.json").read_text())["cases"]

TOLERANCE = {"float64": {"rtol": 1e-9, "atol": 1e-12},
             "float32": {"rtol": 2e-6, "atol": 1e-6}}


# ---------------------------------------------------------------------------------------
# comparing with the fixture
# ---------------------------------------------------------------------------------------


def cases(group: str, raising: bool = False) -> list:
    """The group's cases as pytest parameters, named as in the fixture."""
    return [pytest.param(c, id=c.name) for c in dialect.CASES
            if c.group == group and (c.raises is not None) == raising]


def leaf(array: np.ndarray, requires_grad: bool) -> tg.Tensor:
    return tg.Tensor(array, requires_grad=requires_grad)


def stored_inputs(name: str) -> list[np.ndarray]:
    return [np.array(i["value"], dtype=i["dtype"]) for i in REFERENCE[name]["inputs"]]


def run_with_tinygrad(case) -> dict:
    """The case's code with `torch` = tinygrad_edu, on PyTorch's inputs and upstream."""
    ref = REFERENCE[case.name]
    return dialect.run(tg, case, stored_inputs(case.name), leaf, upstream=ref.get("upstream"),
                       rng=np.random.default_rng(0))


def assert_same(got: dict, want: dict, where: str) -> None:
    """An encoded result (see `dialect.encode`) equals PyTorch's: kinds, dtypes, shapes,
    requires_grad and Python types exactly, float values to TOLERANCE."""
    assert got["kind"] == want["kind"], \
        f"{where}: got a {got['kind']} where PyTorch gives a {want['kind']}"
    if want["kind"] == "tensor":
        for key in ("dtype", "shape", "requires_grad"):
            assert got[key] == want[key], \
                f"{where}: {key} is {got[key]}, PyTorch's is {want[key]}"
        if want["value"] is not None:
            expected = np.array(want["value"], dtype=want["dtype"])
            actual = np.array(got["value"], dtype=got["dtype"])
            if want["dtype"] in TOLERANCE:
                np.testing.assert_allclose(actual, expected, err_msg=where,
                                           **TOLERANCE[want["dtype"]])
            else:
                np.testing.assert_array_equal(actual, expected, err_msg=where)
    elif want["kind"] == "tuple":
        assert len(got["items"]) == len(want["items"]), \
            f"{where}: {len(got['items'])} items, PyTorch gives {len(want['items'])}"
        for k, (g, w) in enumerate(zip(got["items"], want["items"])):
            assert_same(g, w, f"{where}[{k}]")
    elif want["kind"] == "dict":
        assert got["items"].keys() == want["items"].keys(), where
        for key in want["items"]:
            assert_same(got["items"][key], want["items"][key], f"{where}[{key!r}]")
    elif want["kind"] == "float":
        assert got["value"] == pytest.approx(want["value"], rel=1e-9, abs=1e-12), where
    else:
        assert got["value"] == want["value"], \
            f"{where}: {got['value']!r}, PyTorch gives {want['value']!r}"


def assert_matches_pytorch(case) -> dict:
    """Run the case with tinygrad_edu: its result and input gradients are PyTorch's."""
    got, ref = run_with_tinygrad(case), REFERENCE[case.name]
    assert_same(got["result"], ref["result"], case.name)
    if ref["grads"] is not None:
        assert got["grads"] is not None, f"{case.name}: the result does not require grad"
        for k, (g, w) in enumerate(zip(got["grads"], ref["grads"])):
            where = f"{case.name}: gradient of input {k}"
            if w is None:
                assert g is None, f"{where}: PyTorch gives none"
            else:
                assert g is not None, f"{where} is missing"
                assert_same(g, w, where)
    return got


def words(*patterns: str) -> str:
    """A regex that matches when every pattern occurs, in any order, any case."""
    return "(?is)" + "".join(f"(?=.*{p})" for p in patterns)


def assert_raises_like_pytorch(case) -> None:
    """PyTorch raised here (the fixture says so); tinygrad_edu raises the same type, with
    the words the case names in its message."""
    kind, patterns = case.raises
    assert REFERENCE[case.name]["raises"]["type"] == kind, "the fixture disagrees"
    with pytest.raises(getattr(builtins, kind), match=words(*patterns)):
        run_with_tinygrad(case)


def result_of(case_name: str) -> dict:
    """PyTorch's encoded result for a case."""
    return REFERENCE[case_name]["result"]


def test_the_fixture_was_made_from_these_cases():
    """Every case has a stored result, made from the code as it is written now (rerun
    tests/data/make_pytorch_dialect_reference.py after changing a case)."""
    assert set(REFERENCE) == {c.name for c in dialect.CASES}
    stale = [c.name for c in dialect.CASES
             if REFERENCE[c.name]["fingerprint"] != dialect.fingerprint(c)]
    assert not stale, f"the fixture is out of date for {stale}: rerun the script"


# ---------------------------------------------------------------------------------------
# 1. making tensors
# ---------------------------------------------------------------------------------------


class TestMakingTensors:
    """tg.tensor (ints -> int64, floats -> float32, bools -> bool), the creators with sizes
    as varargs or a tuple and dtype= and requires_grad=, from_numpy sharing memory."""

    @pytest.mark.parametrize("case", cases("making"))
    def test_matches_pytorch(self, case):
        assert_matches_pytorch(case)

    def test_tensor_is_a_function_that_makes_tensors(self):
        assert callable(tg.tensor) and not isinstance(tg.tensor, type)
        assert isinstance(tg.tensor([1.0]), tg.Tensor)
        assert type(tg.tensor([[1, 2]])) is tg.Tensor

    def test_tensor_copies_an_ndarray_and_a_tensor(self):
        array = np.arange(3.0)
        t = tg.tensor(array)
        u = tg.tensor(t)
        assert not np.shares_memory(t.data, array) and not np.shares_memory(u.data, t.data)

    def test_from_numpy_shares_memory_and_dtype(self):
        array = np.zeros((2, 2), dtype=np.float64)
        t = tg.from_numpy(array)
        assert np.shares_memory(t.data, array) and t.dtype == tg.float64
        array[0, 0] = 3.0
        assert t[0, 0].item() == 3.0

    @pytest.mark.parametrize("draw", [lambda: tg.rand(2000), lambda: tg.rand((40, 50))])
    def test_rand_is_in_the_unit_interval(self, draw):
        values = draw().numpy()
        assert values.min() >= 0 and values.max() < 1 and abs(values.mean() - 0.5) < 0.03

    def test_randn_is_standard_normal(self):
        values = tg.randn(100, 100).numpy()
        assert abs(values.mean()) < 0.03 and abs(values.std() - 1) < 0.03

    def test_randint_draws_every_value_in_low_high(self):
        values = tg.randint(-3, 3, (1000,))
        assert values.dtype == tg.int64 and values.shape == (1000,)
        assert set(values.numpy().tolist()) == {-3, -2, -1, 0, 1, 2}

    @pytest.mark.parametrize("n", [1, 2, 10, 50])
    def test_randperm_is_a_permutation(self, n):
        order = tg.randperm(n)
        assert order.dtype == tg.int64 and order.shape == (n,)
        np.testing.assert_array_equal(np.sort(order.numpy()), np.arange(n))


# ---------------------------------------------------------------------------------------
# 2. dtypes, promotion and devices
# ---------------------------------------------------------------------------------------


HALF_PRECISION = {
    "tensor(dtype=float16)": lambda: tg.tensor([1.0], dtype=np.float16),
    "Tensor(dtype=float16)": lambda: tg.Tensor([1.0], dtype=np.float16),
    "zeros(dtype=float16)": lambda: tg.zeros(2, dtype=np.float16),
    "to(float16)": lambda: tg.tensor([1.0]).to(np.float16),
    "astype(float16)": lambda: tg.tensor([1.0]).astype(np.float16),
    "tensor(float16 array)": lambda: tg.tensor(np.ones(2, dtype=np.float16)),
}

GPU_REQUESTS = {
    "device('cuda')": lambda: tg.device("cuda"),
    "to('cuda')": lambda: tg.tensor([1.0]).to("cuda"),
    "to(device='cuda:0')": lambda: tg.tensor([1.0]).to(device="cuda:0"),
    "zeros(device='cuda')": lambda: tg.zeros(2, device="cuda"),
    "tensor(device='cuda')": lambda: tg.tensor([1.0], device="cuda"),
    "randn(device='mps')": lambda: tg.randn(2, device="mps"),
    "set_default_device('cuda')": lambda: tg.set_default_device("cuda"),
}

CPU_CREATORS = {
    "tensor": lambda d: tg.tensor([1.0, 2.0], device=d),
    "zeros": lambda d: tg.zeros(2, 3, device=d),
    "ones": lambda d: tg.ones((2,), device=d),
    "empty": lambda d: tg.empty(2, device=d),
    "full": lambda d: tg.full((2,), 1.5, device=d),
    "rand": lambda d: tg.rand(2, device=d),
    "randn": lambda d: tg.randn(2, device=d),
    "randint": lambda d: tg.randint(0, 5, (3,), device=d),
    "randperm": lambda d: tg.randperm(4, device=d),
    "arange": lambda d: tg.arange(3, device=d),
    "linspace": lambda d: tg.linspace(0, 1, 3, device=d),
    "eye": lambda d: tg.eye(2, device=d),
    "zeros_like": lambda d: tg.zeros_like(tg.ones(2), device=d),
    "ones_like": lambda d: tg.ones_like(tg.ones(2), device=d),
}


class TestDtypesAndDevices:
    """PyTorch's dtype names and conversions, its type promotion, float16 refused with a
    clear TypeError, and devices: the CPU accepted everywhere, anything else a clear
    RuntimeError."""

    @pytest.mark.parametrize("case", cases("dtypes"))
    def test_matches_pytorch(self, case):
        assert_matches_pytorch(case)

    def test_dtype_names_are_pytorchs(self):
        assert tg.float == tg.float32 and tg.double == tg.float64
        assert tg.long == tg.int64 and tg.int == tg.int32
        assert tg.tensor([True]).dtype == tg.bool
        assert tg.tensor([1.0]).double().dtype == tg.double

    @pytest.mark.parametrize("make", HALF_PRECISION.values(), ids=HALF_PRECISION.keys())
    def test_float16_is_refused(self, make):
        with pytest.raises(TypeError, match=words("float16", "not supported")):
            make()

    def test_half_is_refused_if_it_exists(self):
        if not hasattr(tg.Tensor, "half"):
            pytest.skip("no Tensor.half: nothing to refuse")
        with pytest.raises(TypeError, match=words("float16", "not supported")):
            tg.tensor([1.0]).half()

    @pytest.mark.parametrize("op", [operator.add, operator.sub, operator.mul])
    def test_float32_tensor_with_int64_array_stays_float32(self, op):
        # The contract, not PyTorch, decides here: PyTorch hands a tensor-and-ndarray
        # expression to NumPy, which gives float64; the contract says the float tensor's
        # dtype wins over an int array, on either side.
        t, array = tg.tensor([1.5, -2.0, 3.0]), np.array([1, 2, 3], dtype=np.int64)
        for result in (op(t, array), op(array, t)):
            assert isinstance(result, tg.Tensor) and result.dtype == tg.float32
        np.testing.assert_allclose(op(t, array).numpy(),
                                   op(np.float32([1.5, -2.0, 3.0]), np.float32([1, 2, 3])))

    def test_cpu_device(self):
        cpu = tg.device("cpu")
        assert cpu == tg.device("cpu") and str(cpu) == "cpu"
        x = tg.tensor([1.0])
        assert x.device == cpu and str(x.device) == "cpu"
        assert x.to(cpu).device == cpu and x.to("cpu").device == cpu
        assert tg.cuda.is_available() is False
        tg.set_default_device("cpu")
        device = "cuda" if tg.cuda.is_available() else "cpu"
        np.testing.assert_array_equal(x.to(device).numpy(), [1.0])

    @pytest.mark.parametrize("make", CPU_CREATORS.values(), ids=CPU_CREATORS.keys())
    @pytest.mark.parametrize("device", ["cpu", tg.device("cpu")], ids=["str", "device"])
    def test_creators_take_the_cpu_device(self, make, device):
        assert make(device).device == tg.device("cpu")

    @pytest.mark.parametrize("request_gpu", GPU_REQUESTS.values(), ids=GPU_REQUESTS.keys())
    def test_other_devices_are_a_clear_error(self, request_gpu):
        with pytest.raises(RuntimeError, match="cpu"):
            request_gpu()


# ---------------------------------------------------------------------------------------
# 3. random numbers
# ---------------------------------------------------------------------------------------


SEEDED_DRAWS = {
    "randn": lambda g: tg.randn(3, 4, generator=g),
    "rand": lambda g: tg.rand((5,), generator=g),
    "randint": lambda g: tg.randint(0, 1000, (20,), generator=g),
    "randperm": lambda g: tg.randperm(30, generator=g),
    "normal": lambda g: tg.normal(0.0, 1.0, (6,), generator=g),
    "multinomial": lambda g: tg.multinomial(tg.tensor([0.2, 0.3, 0.5]), 30,
                                            replacement=True, generator=g),
    "Tensor.normal_": lambda g: tg.empty(6).normal_(generator=g),
    "Tensor.uniform_": lambda g: tg.empty(6).uniform_(generator=g),
}

INIT_FUNCTIONS = ["normal_", "uniform_", "kaiming_normal_", "kaiming_uniform_",
                  "xavier_normal_", "xavier_uniform_"]


def frequencies(samples: tg.Tensor, categories: int) -> np.ndarray:
    return np.bincount(samples.numpy().ravel(), minlength=categories) / samples.numel()


class TestRandomNumbers:
    """Generators as PyTorch's: `tg.Generator().manual_seed(s)` returns the generator, the
    same seed gives the same numbers (generator= on every random call and on nn.init),
    `tg.manual_seed` reseeds the default; multinomial draws with the given probabilities.
    The numbers are NumPy's, not PyTorch's, so nothing here is compared with PyTorch."""

    def test_manual_seed_returns_the_generator(self):
        g = tg.Generator()
        assert g.manual_seed(42) is g
        assert isinstance(tg.Generator().manual_seed(42), tg.Generator)

    @pytest.mark.parametrize("draw", SEEDED_DRAWS.values(), ids=SEEDED_DRAWS.keys())
    def test_same_seed_same_numbers(self, draw):
        first = draw(tg.Generator().manual_seed(42)).numpy()
        again = draw(tg.Generator().manual_seed(42)).numpy()
        other = draw(tg.Generator().manual_seed(43)).numpy()
        np.testing.assert_array_equal(first, again)
        assert not np.array_equal(first, other)

    @pytest.mark.parametrize("draw", SEEDED_DRAWS.values(), ids=SEEDED_DRAWS.keys())
    def test_a_generator_is_its_own_stream(self, draw):
        g = tg.Generator().manual_seed(7)
        expected = draw(g).numpy()
        g = tg.Generator().manual_seed(7)
        tg.randn(100)  # the default generator moves on; g does not
        np.testing.assert_array_equal(draw(g).numpy(), expected)

    def test_manual_seed_reseeds_the_default_generator(self):
        tg.manual_seed(5)
        first = tg.randn(4).numpy()
        tg.manual_seed(5)
        np.testing.assert_array_equal(tg.randn(4).numpy(), first)
        assert not np.array_equal(tg.randn(4).numpy(), first)

    @pytest.mark.parametrize("name", INIT_FUNCTIONS)
    def test_init_functions_take_a_generator(self, name):
        assert result_of("init_functions_take_generator")["items"][name]["value"], \
            f"PyTorch's nn.init.{name} takes no generator"
        init = getattr(nn.init, name)
        w, same, other = tg.empty(30, 20), tg.empty(30, 20), tg.empty(30, 20)
        assert init(w, generator=tg.Generator().manual_seed(1)) is w
        init(same, generator=tg.Generator().manual_seed(1))
        init(other, generator=tg.Generator().manual_seed(2))
        np.testing.assert_array_equal(w.numpy(), same.numpy())
        assert not np.array_equal(w.numpy(), other.numpy())

    def test_multinomial_shapes_and_dtype(self):
        g = tg.Generator().manual_seed(0)
        one_row = tg.multinomial(tg.tensor([0.2, 0.8]), 7, replacement=True, generator=g)
        rows = tg.multinomial(tg.tensor([[0.2, 0.8], [0.5, 0.5], [1.0, 0.0]]), 4,
                              replacement=True, generator=g)
        assert one_row.shape == (7,) and one_row.dtype == tg.int64
        assert rows.shape == (3, 4) and rows.dtype == tg.int64
        ix = tg.multinomial(tg.tensor([0.1, 0.9]), num_samples=1, replacement=True,
                            generator=g).item()
        assert type(ix) is int and ix in (0, 1)

    @pytest.mark.parametrize("weights", [[0.1, 0.0, 0.6, 0.3], [1.0, 0.0, 6.0, 3.0]],
                             ids=["probabilities", "unnormalized"])
    def test_multinomial_frequencies_follow_the_weights(self, weights):
        g = tg.Generator().manual_seed(2147483647)
        samples = tg.multinomial(tg.tensor(weights), 20000, replacement=True, generator=g)
        freq = frequencies(samples, 4)
        np.testing.assert_allclose(freq, np.array(weights) / sum(weights), atol=0.02)
        assert freq[1] == 0, "a category with weight 0 was drawn"

    def test_multinomial_rows_follow_their_own_weights(self):
        weights = tg.tensor([[0.9, 0.1, 0.0], [0.0, 0.2, 0.8]])
        samples = tg.multinomial(weights, 20000, replacement=True,
                                 generator=tg.Generator().manual_seed(3))
        for row, expected in zip(samples, weights.numpy()):
            np.testing.assert_allclose(frequencies(row, 3), expected, atol=0.02)

    def test_multinomial_without_replacement_draws_distinct_categories(self):
        weights = tg.tensor([0.3, 0.0, 0.1, 0.4, 0.2])
        for seed in range(20):
            g = tg.Generator().manual_seed(seed)
            samples = tg.multinomial(weights, 4, generator=g).numpy().tolist()
            assert sorted(samples) == [0, 2, 3, 4]
            rows = tg.multinomial(tg.tensor([[1.0, 1.0, 1.0], [0.5, 0.2, 0.3]]), 3,
                                  replacement=False, generator=g).numpy()
            assert all(sorted(row) == [0, 1, 2] for row in rows.tolist())


# ---------------------------------------------------------------------------------------
# 4. shapes and reductions
# ---------------------------------------------------------------------------------------


class TestShapesAndReductions:
    """view, size, transpose of two dims, permute, expand, repeat, flip, split, chunk,
    flatten; var and std unbiased by default; max(dim) as (values, indices); prod,
    cumsum, norm, pow, clamp and the rest: values, dtypes and float64 gradients as
    PyTorch's."""

    @pytest.mark.parametrize("case", cases("shapes"))
    def test_matches_pytorch(self, case):
        assert_matches_pytorch(case)

    def test_max_over_a_dim_is_a_named_tuple(self):
        x = tg.tensor([[1.0, 5.0, 2.0], [7.0, 0.0, 3.0]])
        result = x.max(1)
        assert isinstance(result, tuple) and len(result) == 2
        values, indices = result
        assert np.array_equal(values.numpy(), result.values.numpy())
        np.testing.assert_array_equal(result.values.numpy(), [5.0, 7.0])
        np.testing.assert_array_equal(result.indices.numpy(), [1, 0])
        assert indices.dtype == tg.int64 and x.min(dim=0).indices.dtype == tg.int64
        assert x.max().shape == () and x.max().item() == 7.0

    def test_format_spec_on_one_element_tensors(self):
        formatted = result_of("formatting")["items"]
        assert f"{tg.tensor(2 / 3):.4f}" == formatted["zero_d_4f"]["value"]
        assert f"{tg.tensor([2 / 3]):.4f}" == formatted["item_4f"]["value"]
        assert f"{tg.tensor([[2 / 3]]):.4f}" == formatted["item_4f"]["value"]
        assert f"{tg.tensor([2 / 3]).item()}" == formatted["item"]["value"]

    def test_clone_has_its_own_array(self):
        x = tg.tensor([1.0, 2.0], requires_grad=True)
        y = x.clone()
        assert not np.shares_memory(y.data, x.data)
        y.data[0] = 10.0
        assert x.data[0] == 1.0


# ---------------------------------------------------------------------------------------
# 5. indexing
# ---------------------------------------------------------------------------------------


class TestIndexing:
    """Indexing as the lectures use it: range and list indices, an embedding table indexed
    by a 2-D int64 tensor, P[range(n), ys], boolean masks, None and ...; values and the
    scattered gradients (repeated indices add up) as PyTorch's."""

    @pytest.mark.parametrize("case", cases("indexing"))
    def test_matches_pytorch(self, case):
        assert_matches_pytorch(case)


# ---------------------------------------------------------------------------------------
# 6. in-place ops and item assignment
# ---------------------------------------------------------------------------------------


def _setitem(t):
    t[0] = 1.5
    return t


def _index_iadd(t):
    t[[0, 2]] += 1.0
    return t


INPLACE_OPS = {
    "+=": lambda t: operator.iadd(t, 1.0),
    "-=": lambda t: operator.isub(t, 1.0),
    "*=": lambda t: operator.imul(t, 2.0),
    "/=": lambda t: operator.itruediv(t, 2.0),
    "add_": lambda t: t.add_(1.0),
    "sub_": lambda t: t.sub_(1.0),
    "mul_": lambda t: t.mul_(2.0),
    "div_": lambda t: t.div_(2.0),
    "zero_": lambda t: t.zero_(),
    "fill_": lambda t: t.fill_(0.5),
    "copy_": lambda t: t.copy_(tg.tensor([3.0, 2.0, 1.0], dtype=tg.float64)),
    "clamp_": lambda t: t.clamp_(-0.5, 0.5),
    "normal_": lambda t: t.normal_(),
    "uniform_": lambda t: t.uniform_(-1.0, 1.0),
    "t[i] = v": _setitem,
    "t[idx] += v": _index_iadd,
}


def fresh(requires_grad: bool = False) -> tg.Tensor:
    return tg.tensor([0.25, -1.0, 2.0], dtype=tg.float64, requires_grad=requires_grad)


class TestInPlace:
    """In-place ops and item assignment with PyTorch's rules: the same Python object;
    plain writes on tensors that need no gradient and under no_grad (a leaf stays a leaf);
    an error on a leaf that requires grad; recorded on a non-leaf, with a version counter
    that makes backward refuse a saved value changed afterwards."""

    @pytest.mark.parametrize("case", cases("inplace"))
    def test_matches_pytorch(self, case):
        assert_matches_pytorch(case)

    @pytest.mark.parametrize("case", cases("inplace", raising=True))
    def test_raises_like_pytorch(self, case):
        assert_raises_like_pytorch(case)

    @pytest.mark.parametrize("op", INPLACE_OPS.values(), ids=INPLACE_OPS.keys())
    def test_writes_into_the_same_object(self, op):
        t = fresh()
        array, version = t.data, t._version
        assert op(t) is t
        assert np.shares_memory(t.data, array)
        assert t._version > version
        assert not t.requires_grad and t.grad_fn is None

    @pytest.mark.parametrize("op", INPLACE_OPS.values(), ids=INPLACE_OPS.keys())
    def test_a_leaf_stays_a_leaf_under_no_grad(self, op):
        w = fresh(requires_grad=True)
        with tg.no_grad():
            assert op(w) is w
        assert w.is_leaf and w.requires_grad and w.grad_fn is None
        (w * w).sum().backward()
        np.testing.assert_allclose(w.grad.numpy(), 2 * w.numpy(), rtol=1e-12)

    @pytest.mark.parametrize("op", INPLACE_OPS.values(), ids=INPLACE_OPS.keys())
    def test_a_leaf_that_requires_grad_refuses(self, op):
        w = fresh(requires_grad=True)
        before = w.numpy().copy()
        with pytest.raises(RuntimeError, match=words("leaf", "in-place")):
            op(w)
        np.testing.assert_array_equal(w.numpy(), before)

    @pytest.mark.parametrize("op", INPLACE_OPS.values(), ids=INPLACE_OPS.keys())
    def test_a_non_leaf_records_the_op(self, op):
        x = fresh(requires_grad=True)
        y = x * 2
        node = y.grad_fn
        assert op(y) is y
        assert y.requires_grad and y.grad_fn is not None and y.grad_fn is not node
        y.sum().backward()
        assert x.grad is not None and x.grad.shape == x.shape

    def test_manual_backprop_idiom_equals_cross_entropy_gradient(self):
        rng = np.random.default_rng(5)
        n = 5
        logits = tg.tensor(rng.standard_normal((n, 4)), requires_grad=True)
        Yb = tg.tensor(rng.integers(0, 4, n))
        F.cross_entropy(logits, Yb).backward()
        dlogits = F.softmax(logits, 1)
        dlogits[range(n), Yb] -= 1
        dlogits /= n
        np.testing.assert_allclose(dlogits.numpy(), logits.grad.numpy(), rtol=1e-10,
                                   atol=1e-14)

    def test_parameters_change_when_updated_under_no_grad(self):
        model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 1))
        X, Y = tg.randn(6, 3), tg.randn(6, 1)
        before = [p.numpy().copy() for p in model.parameters()]
        ids = [id(p) for p in model.parameters()]
        for _ in range(3):
            loss = ((model(X) - Y) ** 2).mean()
            model.zero_grad()
            loss.backward()
            with tg.no_grad():
                for p in model.parameters():
                    p -= 0.1 * p.grad
        assert [id(p) for p in model.parameters()] == ids
        for p, old in zip(model.parameters(), before):
            assert p.is_leaf and p.requires_grad and not np.array_equal(p.numpy(), old)


# ---------------------------------------------------------------------------------------
# 7. .data and .grad
# ---------------------------------------------------------------------------------------


class TestDataAndGrad:
    """Updating through `.data` (an ndarray here, written in place), zeroing and dropping
    `.grad`, turning requires_grad on: the lecture idioms, with PyTorch's numbers."""

    # grad_zero_and_none accumulates on purpose, which the library warns about
    @pytest.mark.filterwarnings("ignore::tinygrad_edu.autograd.LearnerWarning")
    @pytest.mark.parametrize("case", cases("data_grad"))
    def test_matches_pytorch(self, case):
        assert_matches_pytorch(case)

    def test_data_update_keeps_the_parameter_and_its_array(self):
        W = tg.tensor(np.linspace(-1, 1, 6).reshape(2, 3), requires_grad=True)
        (W ** 2).sum().backward()
        tensor_id, array = id(W), W.data
        expected = W.numpy() - 0.1 * 2 * W.numpy()
        W.data += -0.1 * W.grad
        assert id(W) == tensor_id and W.data is array and isinstance(W.data, np.ndarray)
        np.testing.assert_allclose(W.numpy(), expected, rtol=1e-12)
        assert W.is_leaf and W.requires_grad

    def test_data_minus_equals_on_parameters(self):
        model = nn.Linear(3, 2)
        x = tg.randn(4, 3)
        model(x).pow(2).sum().backward()
        for p in model.parameters():
            array, expected = p.data, p.numpy() - 0.01 * p.grad.numpy()
            p.data -= 0.01 * p.grad
            assert p.data is array
            np.testing.assert_allclose(p.numpy(), expected, rtol=1e-6)

    def test_grad_zero_keeps_the_gradient_tensor(self):
        x = tg.tensor([1.0, 2.0], dtype=tg.float64, requires_grad=True)
        (x * x).sum().backward()
        grad = x.grad
        assert grad.zero_() is grad and x.grad is grad
        np.testing.assert_array_equal(x.grad.numpy(), [0.0, 0.0])


# ---------------------------------------------------------------------------------------
# 8. nn and F
# ---------------------------------------------------------------------------------------


class TestNnAndFunctional:
    """F.one_hot, nll_loss, mse_loss, linear; nn.Parameter; writing parameters under
    no_grad; Flatten(0, 1); MSELoss(reduction="sum"); indexing and slicing Sequential;
    BatchNorm1d's running statistics (unbiased running_var); nn.init with generator=."""

    @pytest.mark.parametrize("case", cases("nn"))
    def test_matches_pytorch(self, case):
        assert_matches_pytorch(case)

    def test_parameter_is_a_leaf_tensor_that_requires_grad(self):
        p = nn.Parameter(tg.randn(2, 3, dtype=tg.float64))
        assert isinstance(p, tg.Tensor) and isinstance(p, nn.Parameter)
        assert p.requires_grad and p.is_leaf and p.dtype == tg.float64

    @pytest.mark.parametrize("write", [lambda p: p.copy_(tg.ones(3)), lambda p: p.fill_(2.0),
                                       lambda p: p.zero_()], ids=["copy_", "fill_", "zero_"])
    def test_parameter_written_under_no_grad_stays_itself(self, write):
        p = nn.Parameter(tg.randn(3))
        with tg.no_grad():
            assert write(p) is p
        assert isinstance(p, nn.Parameter) and p.is_leaf and p.requires_grad

    def test_sequential_indexing_and_slicing(self):
        first, last = nn.Linear(2, 3), nn.Linear(3, 1)
        model = nn.Sequential(first, nn.ReLU(), last)
        assert model[0] is first and model[-1] is last
        head = model[0:2]
        assert isinstance(head, nn.Sequential) and len(head) == 2 and head[0] is first

    def test_kaiming_normal_with_generator_has_he_std(self):
        w = tg.empty(400, 300)
        nn.init.kaiming_normal_(w, generator=tg.Generator().manual_seed(0))
        assert abs(w.numpy().std() / np.sqrt(2 / 300) - 1) < 0.02

    def test_normal_and_uniform_with_generator_have_their_parameters(self):
        g = tg.Generator().manual_seed(1)
        w = nn.init.normal_(tg.empty(200, 100), mean=1.0, std=0.5, generator=g).numpy()
        assert abs(w.mean() - 1.0) < 0.01 and abs(w.std() - 0.5) < 0.01
        u = nn.init.uniform_(tg.empty(200, 100), -0.1, 0.1, generator=g).numpy()
        assert -0.1 <= u.min() < -0.099 and 0.099 < u.max() < 0.1


# ---------------------------------------------------------------------------------------
# 9. custom autograd Functions
# ---------------------------------------------------------------------------------------


class TestCustomFunction:
    """tg.autograd.Function as PyTorch's tutorial writes one (LegendrePolynomial3): forward
    in Tensor ops, ctx.save_for_backward, backward in Tensor ops. The forward's ops are
    not recorded: the output's grad_fn is the custom node, and the gradient is whatever
    the custom backward returns (a deliberately doubled one shows it)."""

    @pytest.mark.parametrize("case", cases("function"))
    def test_matches_pytorch(self, case):
        assert_matches_pytorch(case)

    def test_autograd_function_is_function(self):
        assert tg.autograd.Function is tg.Function

    def test_the_output_comes_from_the_custom_node(self):
        legendre, _ = dialect.legendre_functions(tg)
        x = tg.tensor([0.5, -1.5], dtype=tg.float64, requires_grad=True)
        y = legendre.apply(x)
        assert y.requires_grad and not y.is_leaf
        name = getattr(y.grad_fn, "name", None) or type(y.grad_fn).__name__
        assert "LegendrePolynomial3" in name

    def test_the_custom_backward_is_the_one_used(self):
        _, doubled = dialect.legendre_functions(tg)
        values = np.array([0.5, -1.5, 2.0])
        x = tg.tensor(values, requires_grad=True)
        y = doubled.apply(x)
        np.testing.assert_allclose(y.numpy(), 0.5 * (5 * values ** 3 - 3 * values), rtol=1e-12)
        y.sum().backward()
        true_derivative = 1.5 * (5 * values ** 2 - 1)
        np.testing.assert_allclose(x.grad.numpy(), 2 * true_derivative, rtol=1e-12)
