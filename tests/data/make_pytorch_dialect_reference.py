"""Write pytorch_dialect_reference.json: learner code in PyTorch's dialect, run by PyTorch.

Not a test (pytest collects test_*.py only): run it by hand, with PyTorch installed, from
the repository root::

    python3 tests/data/make_pytorch_dialect_reference.py

The learner code lives here, once. Every case below is a function of the module it is
given, always called `torch`: this script calls it with real PyTorch and stores what it
returns; tests/test_pytorch_dialect.py imports the same functions and calls them with
`torch` = tinygrad_edu, which is the promise under test (`import tinygrad_edu as torch`
and the same code gives PyTorch's numbers). torch is imported inside `main()` only, so
the tests can import this file without it.

For every case the file holds its inputs (float64 unless a case says otherwise; drawn
here from a seeded NumPy generator and stored, so both frameworks get the same numbers),
what PyTorch returned (dtype, shape, values, requires_grad of every tensor; Python
numbers, bools and strings as they are), and, when a float input requires grad, the
gradient of sum(output * upstream) for a stored random `upstream` (a plain sum() would
hide a wrong factor in a symmetric derivative). A case marked `raises` must raise: the
file stores that PyTorch raised, the exception's type name and message, and the script
stops if PyTorch's message does not contain the words the test will look for.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import math
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

PATH = Path(__file__).with_name("pytorch_dialect_reference.json")


# ---------------------------------------------------------------------------------------
# inputs: how a case's arguments are made (the arrays themselves are stored)
# ---------------------------------------------------------------------------------------


class Input(NamedTuple):
    kind: str                  # "normal", "positive", "ints" or "const"
    shape: tuple = ()
    dtype: str = "float64"
    grad: bool = True          # requires_grad (float inputs only)
    low: int = 0               # for "ints": draws in [low, high)
    high: int = 0
    value: Any = None          # for "const"


def randn(*shape, dtype="float64", grad=True) -> Input:
    """Standard normal draws."""
    return Input("normal", shape, dtype, grad)


def positive(*shape, grad=True) -> Input:
    """Uniform draws in [0.5, 2) (for log, pow and reciprocal)."""
    return Input("positive", shape, "float64", grad)


def ints(low, high, *shape) -> Input:
    """int64 draws in [low, high)."""
    return Input("ints", shape, "int64", False, low, high)


def const(value, dtype=None, grad=None) -> Input:
    """Fixed values; float lists are float64 and require grad unless told otherwise."""
    array = np.array(value, dtype=dtype)
    if array.dtype == np.float64 and dtype is None and grad is None:
        grad = True
    return Input("const", array.shape, array.dtype.name, bool(grad) and array.dtype.kind == "f",
                 value=value)


# Values where a derivative has a kink in some case (clamp bounds, relu): no input may
# sit exactly on one, nor hold two equal floats (max, min and sorting would have ties).
KINKS = (0.0, 0.1, -0.2, 0.3, 0.5, -0.5, 0.7, 0.8)


def make_array(spec: Input, rng: np.random.Generator) -> np.ndarray:
    """Random draws are rounded to 4 decimals: exact either way (the arrays are stored),
    and the file stays small."""
    if spec.kind in ("normal", "positive"):
        while True:
            draws = (rng.standard_normal(spec.shape) if spec.kind == "normal"
                     else rng.uniform(0.5, 2.0, spec.shape))
            array = draws.round(4).astype(spec.dtype)
            if len(np.unique(array)) == array.size and not np.isin(array, KINKS).any():
                return array
    if spec.kind == "ints":
        return rng.integers(spec.low, spec.high, spec.shape).astype(np.int64)
    return np.array(spec.value, dtype=spec.dtype)


# ---------------------------------------------------------------------------------------
# cases
# ---------------------------------------------------------------------------------------


class Case(NamedTuple):
    group: str
    name: str
    code: Callable              # code(torch, *inputs)
    inputs: tuple = ()
    random: bool = False        # tensors in the result: compare dtype and shape, not values
    raises: tuple | None = None  # (exception type name, [regexes the message must match])


CASES: list[Case] = []


def case(group: str, name: str, code: Callable, *inputs: Input, random: bool = False,
         raises: tuple | None = None) -> None:
    CASES.append(Case(group, name, code, inputs, random, raises))


def scenario(group: str, *inputs: Input, raises: tuple | None = None):
    """Register a multi-line case: the function's name is the case's name."""
    def register(code: Callable) -> Callable:
        case(group, code.__name__, code, *inputs, raises=raises)
        return code
    return register


def leaf_facts(t):
    return t, t.requires_grad, t.is_leaf


# --- 1. making tensors --------------------------------------------------------------------

case("making", "tensor_ints", lambda torch: torch.tensor([1, 2, 3]))
case("making", "tensor_floats", lambda torch: torch.tensor([1.0, 2.5]))
case("making", "tensor_bools", lambda torch: torch.tensor([True, False, True]))
case("making", "tensor_nested_ints", lambda torch: torch.tensor([[1, 2], [3, 4], [5, 6]]))
case("making", "tensor_nested_floats", lambda torch: torch.tensor([[1.0, 2.0], [3.5, 4.0]]))
case("making", "tensor_ints_and_floats", lambda torch: torch.tensor([1, 2.5]))
case("making", "tensor_int_scalar", lambda torch: torch.tensor(3))
case("making", "tensor_float_scalar", lambda torch: torch.tensor(2.5))
case("making", "tensor_bool_scalar", lambda torch: torch.tensor(True))
case("making", "tensor_dtype", lambda torch: torch.tensor([1, 2], dtype=torch.float64))
case("making", "tensor_dtype_long", lambda torch: torch.tensor([1.0, 2.0], dtype=torch.long))
case("making", "tensor_requires_grad",
     lambda torch: leaf_facts(torch.tensor([1.0, 2.0], requires_grad=True)))
case("making", "tensor_of_float64_array", lambda torch: torch.tensor(np.array([1.5, 2.0])))
case("making", "tensor_of_int32_array",
     lambda torch: torch.tensor(np.array([1, 2], dtype=np.int32)))
case("making", "tensor_of_tensor",
     lambda torch: torch.tensor(torch.tensor([1.0, 2.0], dtype=torch.float64)))
case("making", "zeros_varargs", lambda torch: torch.zeros(2, 3))
case("making", "zeros_tuple", lambda torch: torch.zeros((2, 3)))
case("making", "zeros_dtype", lambda torch: torch.zeros(2, 3, dtype=torch.float64))
case("making", "zeros_long", lambda torch: torch.zeros((4,), dtype=torch.long))
case("making", "zeros_requires_grad",
     lambda torch: leaf_facts(torch.zeros(2, 2, requires_grad=True)))
case("making", "ones_varargs", lambda torch: torch.ones(3, 2))
case("making", "ones_tuple_int32", lambda torch: torch.ones((2,), dtype=torch.int32))
case("making", "ones_requires_grad",
     lambda torch: leaf_facts(torch.ones(3, dtype=torch.float64, requires_grad=True)))
case("making", "empty_varargs", lambda torch: torch.empty(2, 3), random=True)
case("making", "empty_tuple_dtype", lambda torch: torch.empty((4,), dtype=torch.float64),
     random=True)
case("making", "empty_requires_grad",
     lambda torch: leaf_facts(torch.empty(2, requires_grad=True)), random=True)
case("making", "full_float", lambda torch: torch.full((2, 3), 1.5))
case("making", "full_int", lambda torch: torch.full((2,), 7))
case("making", "full_bool", lambda torch: torch.full((2,), True))
case("making", "full_zero_d", lambda torch: torch.full((), 0.3))
case("making", "full_dtype_requires_grad",
     lambda torch: leaf_facts(torch.full((2, 2), 0.5, dtype=torch.float64, requires_grad=True)))
case("making", "rand_varargs", lambda torch: torch.rand(2, 3), random=True)
case("making", "rand_tuple", lambda torch: torch.rand((3,)), random=True)
case("making", "rand_dtype_requires_grad",
     lambda torch: leaf_facts(torch.rand(3, dtype=torch.float64, requires_grad=True)),
     random=True)
case("making", "randn_varargs", lambda torch: torch.randn(2, 3), random=True)
case("making", "randn_tuple", lambda torch: torch.randn((4, 1)), random=True)
case("making", "randn_dtype_requires_grad",
     lambda torch: leaf_facts(torch.randn(2, 2, dtype=torch.float64, requires_grad=True)),
     random=True)
case("making", "zeros_like_keeps_dtype",
     lambda torch: torch.zeros_like(torch.ones(2, 3, dtype=torch.float64)))
case("making", "ones_like_int", lambda torch: torch.ones_like(torch.tensor([[1, 2], [3, 4]])))
case("making", "zeros_like_dtype",
     lambda torch: torch.zeros_like(torch.tensor([1, 2]), dtype=torch.float32))
case("making", "ones_like_requires_grad",
     lambda torch: leaf_facts(torch.ones_like(torch.zeros(2, dtype=torch.float64),
                                              requires_grad=True)))
case("making", "arange_int", lambda torch: torch.arange(5))
case("making", "arange_start_end_step", lambda torch: torch.arange(2, 11, 3))
case("making", "arange_float_step", lambda torch: torch.arange(0, 1, 0.25))
case("making", "arange_dtype", lambda torch: torch.arange(4, dtype=torch.float64))
case("making", "linspace", lambda torch: torch.linspace(0, 1, 5))
case("making", "linspace_steps_dtype",
     lambda torch: torch.linspace(-1, 1, steps=3, dtype=torch.float64))
case("making", "eye", lambda torch: torch.eye(3))
case("making", "eye_rectangular", lambda torch: torch.eye(2, 3))
case("making", "eye_long", lambda torch: torch.eye(3, dtype=torch.long))
case("making", "randint_low_high_size", lambda torch: torch.randint(0, 10, (3, 4)), random=True)
case("making", "randint_high_size", lambda torch: torch.randint(5, (6,)), random=True)
case("making", "randperm", lambda torch: torch.randperm(10), random=True)


@scenario("making")
def tensor_copies_from_numpy_shares(torch):
    array = np.zeros(3)
    copied, shared = torch.tensor(array), torch.from_numpy(array)
    array[0] = 1.0      # the tensor made by from_numpy sees it, the copy does not
    shared[1] = 2.0     # and the array sees a write through the shared tensor
    return {"copy": copied, "shared": shared, "array_after": array.tolist(),
            "shared_dtype_is_float64": shared.dtype == torch.float64}


# --- 2. dtypes, promotion, devices --------------------------------------------------------

F32 = const([1.7, -1.7, 0.0, 2.5], "float32")
I64 = const([1, 2, 3])

case("dtypes", "names", lambda torch: (
    torch.tensor([1.0]).dtype == torch.float32, torch.tensor([1.0]).dtype == torch.float,
    torch.tensor([1]).dtype == torch.int64, torch.tensor([1]).dtype == torch.long,
    torch.tensor([1], dtype=torch.int).dtype == torch.int32,
    torch.tensor([1.0], dtype=torch.double).dtype == torch.float64,
    torch.tensor([True]).dtype == torch.bool, torch.float == torch.float32,
    torch.double == torch.float64, torch.long == torch.int64, torch.int == torch.int32))
case("dtypes", "double", lambda torch, x: x.double(), F32)
case("dtypes", "long_truncates", lambda torch, x: x.long(), F32)
case("dtypes", "int", lambda torch, x: x.int(), F32)
case("dtypes", "bool", lambda torch, x: x.bool(), F32)
case("dtypes", "float_of_ints", lambda torch, x: x.float(), I64)
case("dtypes", "bool_of_ints", lambda torch, x: x.bool(), const([0, 3, -1]))
case("dtypes", "to_float64", lambda torch, x: x.to(torch.float64), F32)
case("dtypes", "to_dtype_keyword", lambda torch, x: x.to(dtype=torch.float64), F32)
case("dtypes", "to_long", lambda torch, x: x.to(torch.long), F32)
case("dtypes", "to_device_and_dtype", lambda torch, x: x.to("cpu", torch.float64), F32)
case("dtypes", "double_then_float", lambda torch, x: x.double().float(), F32)
case("dtypes", "float_conversion_is_differentiable", lambda torch, x: x.float() * 3, randn(4))
case("dtypes", "float32_plus_int64", lambda torch, a, b: a + b, const([1.5, -2.0, 3.0], "float32"),
     I64)
case("dtypes", "int64_plus_float32", lambda torch, a, b: b + a, const([1.5, -2.0, 3.0], "float32"),
     I64)
case("dtypes", "float32_times_python_int", lambda torch, a: a * 3, F32)
case("dtypes", "float32_times_python_float", lambda torch, a: a * 2.5, F32)
case("dtypes", "python_float_minus_float32", lambda torch, a: 2.5 - a, F32)
case("dtypes", "python_int_divided_by_float32", lambda torch, a: 3 / (a + 2), F32)
case("dtypes", "float32_pow_python_int", lambda torch, a: a ** 2, F32)
case("dtypes", "int64_plus_python_float", lambda torch, b: b + 2.5, I64)
case("dtypes", "int64_times_python_int", lambda torch, b: b * 2, I64)
case("dtypes", "int64_divided_by_int64", lambda torch, b, c: b / c, I64, const([2, 4, 4]))
case("dtypes", "int64_divided_by_python_int", lambda torch, b: b / 2, I64)
case("dtypes", "int64_plus_bool", lambda torch, b, m: b + m, I64, const([True, False, True]))
case("dtypes", "int32_plus_int64", lambda torch, a, b: a + b, const([1, 2, 3], "int32"), I64)
case("dtypes", "float64_plus_float32", lambda torch, a, b: a + b,
     const([0.1, 0.2, 0.3], grad=False), const([1.5, -2.0, 3.0], "float32"))
case("dtypes", "float32_plus_float64", lambda torch, a, b: b + a,
     const([0.1, 0.2, 0.3], grad=False), const([1.5, -2.0, 3.0], "float32"))
case("dtypes", "float32_plus_zero_d_float64",
     lambda torch, a: a + torch.tensor(0.1, dtype=torch.float64), F32)
case("dtypes", "comparison_is_bool", lambda torch, a: a > 0, F32)
case("dtypes", "sum_of_bools_is_int64", lambda torch, a: (a > 0).sum(), F32)
case("dtypes", "accuracy_idiom", lambda torch, b, c: (b == c).float().mean(), I64,
     const([1, 0, 3]))


@scenario("dtypes")
def devices(torch):
    device = "cuda" if torch.cuda.is_available() else "cpu"
    x = torch.tensor([1.0, 2.0], device=device)
    return {"cuda_available": torch.cuda.is_available(), "device_str": str(x.device),
            "equals_cpu_device": x.device == torch.device("cpu"),
            "to_cpu": x.to("cpu"), "to_cpu_device": x.to(torch.device("cpu")),
            "zeros_on_cpu": torch.zeros(2, device="cpu"),
            "ones_on_cpu_device": torch.ones(2, device=torch.device("cpu")),
            "arange_on_cpu": torch.arange(3, device="cpu")}


# --- 4. shapes and reductions -------------------------------------------------------------

X2, X3, X4 = randn(3, 4), randn(2, 3, 4), randn(1, 2, 3, 4)
ZEROS = const([[1.5, 0.0, -2.0], [0.5, 3.0, 2.0], [0.0, 0.0, 4.0]])

case("shapes", "view", lambda torch, x: x.view(6, 4), X3)
case("shapes", "view_tuple", lambda torch, x: x.view((4, 6)), X3)
case("shapes", "view_minus_one", lambda torch, x: x.view(-1), X3)
case("shapes", "view_batch_minus_one", lambda torch, x: x.view(x.shape[0], -1), X3)
case("shapes", "reshape_minus_one", lambda torch, x: x.reshape(4, -1), X3)
case("shapes", "size", lambda torch, x: (x.size(), x.size() == x.shape, x.size() == (2, 3, 4)),
     X3)
case("shapes", "size_dim", lambda torch, x: (x.size(1), x.size(-1), x.size(dim=0)), X3)
case("shapes", "dim", lambda torch, x: (x.dim(), x.ndim), X3)
case("shapes", "nelement", lambda torch, x: (x.nelement(), x.numel()), X3)
case("shapes", "t", lambda torch, x: x.t(), X2)
case("shapes", "transpose_2d", lambda torch, x: x.transpose(0, 1), X2)
case("shapes", "transpose_3d", lambda torch, x: x.transpose(1, 2), X3)
case("shapes", "transpose_3d_negative", lambda torch, x: x.transpose(-2, -1), X3)
case("shapes", "transpose_4d", lambda torch, x: x.transpose(1, 3), X4)
case("shapes", "transpose_4d_negative", lambda torch, x: x.transpose(0, -1), X4)
case("shapes", "torch_transpose", lambda torch, x: torch.transpose(x, 0, 2), X3)
case("shapes", "attention_scores",
     lambda torch, q, k: q @ k.transpose(-2, -1) * k.size(-1) ** -0.5, X3, randn(2, 3, 4))
case("shapes", "permute", lambda torch, x: x.permute(2, 0, 1), X3)
case("shapes", "permute_tuple", lambda torch, x: x.permute((1, 2, 0)), X3)
case("shapes", "permute_negative", lambda torch, x: x.permute(0, 2, -1, 1), X4)
case("shapes", "expand", lambda torch, x: x.expand(3, 4), randn(3, 1))
case("shapes", "expand_minus_one", lambda torch, x: x.expand(-1, 4), randn(3, 1))
case("shapes", "expand_new_axis", lambda torch, x: x.expand(2, 3, 4), randn(3, 1))
case("shapes", "expand_tuple", lambda torch, x: x.expand((2, -1, 4)), randn(3, 1))
case("shapes", "repeat", lambda torch, x: x.repeat(2, 1), X2)
case("shapes", "repeat_new_axes", lambda torch, x: x.repeat(2, 1, 2), X2)
case("shapes", "repeat_tuple", lambda torch, x: x.repeat((1, 2)), X2)
case("shapes", "flip", lambda torch, x: x.flip(0), X2)
case("shapes", "flip_list", lambda torch, x: x.flip([0, 2]), X3)
case("shapes", "flip_negative", lambda torch, x: x.flip((-1,)), X3)
case("shapes", "torch_flip", lambda torch, x: torch.flip(x, dims=(1,)), X3)
case("shapes", "split_size", lambda torch, x: x.split(2), randn(5, 3))
case("shapes", "split_sizes", lambda torch, x: x.split([1, 4]), randn(5, 3))
case("shapes", "split_dim", lambda torch, x: x.split(2, dim=1), randn(3, 6))
case("shapes", "torch_split", lambda torch, x: torch.split(x, [2, 3], dim=0), randn(5, 3))
case("shapes", "chunk", lambda torch, x: x.chunk(3), randn(5, 3))
case("shapes", "chunk_dim", lambda torch, x: x.chunk(2, dim=1), randn(3, 6))
case("shapes", "flatten", lambda torch, x: x.flatten(), X3)
case("shapes", "flatten_start", lambda torch, x: x.flatten(1), X3)
case("shapes", "flatten_start_end", lambda torch, x: x.flatten(1, 2), X4)
case("shapes", "flatten_negative", lambda torch, x: x.flatten(-2, -1), X4)
case("shapes", "torch_flatten", lambda torch, x: torch.flatten(x, start_dim=1), X4)
case("shapes", "contiguous", lambda torch, x: x.t().contiguous(), X2)
case("shapes", "var", lambda torch, x: x.var(), X2)
case("shapes", "var_unbiased_false", lambda torch, x: x.var(unbiased=False), X2)
case("shapes", "var_correction_0", lambda torch, x: x.var(correction=0), X2)
case("shapes", "var_dim", lambda torch, x: x.var(dim=1), X2)
case("shapes", "var_positional_dim", lambda torch, x: x.var(0), X2)
case("shapes", "var_keepdim", lambda torch, x: x.var(1, keepdim=True), X2)
case("shapes", "var_dim_unbiased_false", lambda torch, x: x.var(dim=1, unbiased=False), X2)
case("shapes", "var_axis_keepdims", lambda torch, x: x.var(axis=0, keepdims=True), X2)
case("shapes", "torch_var", lambda torch, x: torch.var(x, dim=0), X2)
case("shapes", "std", lambda torch, x: x.std(), X2)
case("shapes", "std_unbiased_false", lambda torch, x: x.std(unbiased=False), X2)
case("shapes", "std_correction_0", lambda torch, x: x.std(correction=0), X2)
case("shapes", "std_dim", lambda torch, x: x.std(dim=0), X2)
case("shapes", "std_keepdim", lambda torch, x: x.std(1, keepdim=True), X2)
case("shapes", "std_axis", lambda torch, x: x.std(axis=1), X2)
case("shapes", "max_dim_unpacked", lambda torch, x: tuple(x.max(1)), X2)
case("shapes", "max_dim_fields", lambda torch, x: (x.max(dim=1).values, x.max(dim=1).indices),
     X2)
case("shapes", "max_dim_keepdim", lambda torch, x: tuple(x.max(1, keepdim=True)), X2)
case("shapes", "max_dim_first_item", lambda torch, x: x.max(1)[0], X2)
case("shapes", "min_dim", lambda torch, x: tuple(x.min(0)), X2)
case("shapes", "min_dim_negative", lambda torch, x: (x.min(dim=-1).values,
                                                     x.min(dim=-1).indices), X3)
case("shapes", "torch_max_dim", lambda torch, x: tuple(torch.max(x, 1)), X2)
case("shapes", "max_all", lambda torch, x: x.max(), X2)
case("shapes", "min_all", lambda torch, x: x.min(), X2)
case("shapes", "argmax_dim", lambda torch, x: x.argmax(dim=1), X2)
case("shapes", "prod", lambda torch, x: x.prod(), X2)
case("shapes", "prod_dim", lambda torch, x: x.prod(1), X2)
case("shapes", "prod_keepdim", lambda torch, x: x.prod(dim=0, keepdim=True), X2)
case("shapes", "prod_rows_with_zeros", lambda torch, x: x.prod(1), ZEROS)
case("shapes", "prod_columns_with_zeros", lambda torch, x: x.prod(0), ZEROS)
case("shapes", "prod_all_with_zero", lambda torch, x: x.prod(),
     const([[1.5, 0.0, -2.0], [0.5, 3.0, 2.0]]))
case("shapes", "cumsum", lambda torch, x: x.cumsum(0), X2)
case("shapes", "cumsum_dim", lambda torch, x: x.cumsum(dim=1), X2)
case("shapes", "cumsum_negative", lambda torch, x: x.cumsum(-1), X3)
case("shapes", "torch_cumsum", lambda torch, x: torch.cumsum(x, dim=1), X3)
case("shapes", "norm", lambda torch, x: x.norm(), X2)
case("shapes", "norm_p1", lambda torch, x: x.norm(p=1), X2)
case("shapes", "norm_dim", lambda torch, x: x.norm(dim=1), X2)
case("shapes", "norm_p1_dim_keepdim", lambda torch, x: x.norm(p=1, dim=0, keepdim=True), X2)
case("shapes", "torch_norm", lambda torch, x: torch.norm(x), X2)
case("shapes", "all_any", lambda torch, x: ((x > -10).all(), (x > 0).all(), (x > 0).any(),
                                            (x > 10).any()), X2)
case("shapes", "all_any_dim", lambda torch, x: ((x > 0).all(dim=1), (x > 0).all(0, keepdim=True),
                                                (x < 0).any(dim=1)),
     const([[1.0, 2.0, 3.0], [-1.0, 2.0, 3.0], [-1.0, -2.0, 3.0]], grad=False))
case("shapes", "all_of_floats", lambda torch, x: (x.all(), x.any()), const([1.0, 0.0, 2.0]))
case("shapes", "equal", lambda torch, x: (torch.equal(x, x.clone()), torch.equal(x, x + 1e-12),
                                          torch.equal(x, x[:1])), X2)
case("shapes", "allclose", lambda torch, x: (torch.allclose(x, x + 1e-9),
                                             torch.allclose(x, x + 1e-3),
                                             torch.allclose(x, x + 1e-3, atol=1e-2)), X2)
case("shapes", "isclose", lambda torch, x, d: torch.isclose(x, x + d), randn(4),
     const([0.0, 1e-3, 0.0, 1e-9], grad=False))
case("shapes", "pow_scalar", lambda torch, x: x ** 2, X2)
case("shapes", "pow_method", lambda torch, x: x.pow(3), X2)
case("shapes", "torch_pow_fractional", lambda torch, p: torch.pow(p, 2.5), positive(3, 4))
case("shapes", "pow_negative_exponent", lambda torch, p: p ** -0.5, positive(3, 4))
case("shapes", "pow_tensor_exponent", lambda torch, p, q: p ** q, positive(3, 4), randn(3, 4))
case("shapes", "pow_broadcast_exponent", lambda torch, p, q: p.pow(q), positive(3, 4), randn(4))
case("shapes", "scalar_base_pow", lambda torch, x: 2 ** x, X2)
case("shapes", "neg", lambda torch, x: (x.neg(), -x, torch.neg(x)), X2)
case("shapes", "reciprocal", lambda torch, p: (p.reciprocal(), torch.reciprocal(p)),
     positive(3, 4))
case("shapes", "clamp", lambda torch, x: x.clamp(-0.5, 0.5), X2)
case("shapes", "clamp_min_only", lambda torch, x: x.clamp(min=0), X2)
case("shapes", "clamp_max_only", lambda torch, x: x.clamp(max=0.3), X2)
case("shapes", "torch_clamp", lambda torch, x: torch.clamp(x, min=-0.2, max=0.7), X2)
case("shapes", "clamp_min", lambda torch, x: x.clamp_min(0.1), X2)
case("shapes", "clamp_max", lambda torch, x: x.clamp_max(0.1), X2)
case("shapes", "log10", lambda torch, p: (p.log10(), torch.log10(p)), positive(3, 4))
case("shapes", "clone", lambda torch, x: x.clone(), X2)
case("shapes", "mm", lambda torch, a, b: (torch.mm(a, b), a.mm(b)), randn(3, 4), randn(4, 2))
case("shapes", "bmm", lambda torch, a, b: torch.bmm(a, b), randn(2, 3, 4), randn(2, 4, 2))
case("shapes", "matmul_keywords", lambda torch, a, b: torch.matmul(input=a, other=b),
     randn(3, 4), randn(4, 2))
case("shapes", "einsum_trace", lambda torch, a: torch.einsum("ii->", a), randn(4, 4))
case("shapes", "einsum_diagonal", lambda torch, a: torch.einsum("ii->i", a), randn(4, 4))
case("shapes", "einsum_matmul", lambda torch, a, b: torch.einsum("ij,jk->ik", a, b),
     randn(3, 4), randn(4, 2))
case("shapes", "einsum_batched", lambda torch, a, b: torch.einsum("bij,bjk->bik", a, b),
     randn(2, 3, 4), randn(2, 4, 2))


@scenario("shapes")
def formatting(torch):
    zero_d = torch.tensor(2 / 3)
    one_element = torch.tensor([2 / 3])
    wide = torch.tensor(-1234.56789, dtype=torch.float64)
    # PyTorch itself formats only 0-d tensors with a spec; for shape (1,) the test
    # compares f"{t:.4f}" with PyTorch's value formatted as a number
    return {"zero_d_4f": f"{zero_d:.4f}", "float64_3e": f"{wide:.3e}", "float64_g": f"{wide:g}",
            "item": f"{zero_d.item()}", "item_4f": f"{one_element.item():.4f}",
            "item_is_float": isinstance(one_element.item(), float)}


# --- 5. indexing --------------------------------------------------------------------------

EMBEDDING_INDEX = const([[0, 5, 5], [1, 0, 26], [5, 5, 5], [3, 2, 1]])
YS = const([3, 0, 3, 4, 1, 3])

case("indexing", "range_rows", lambda torch, x: x[range(3)], randn(5, 3))
case("indexing", "list_rows_repeated", lambda torch, x: x[[0, 2, 2, -1]], randn(5, 3))
case("indexing", "two_lists", lambda torch, x: x[[0, 2], [1, 0]], randn(5, 3))
case("indexing", "int_tensor_rows", lambda torch, x, i: x[i], randn(5, 3), const([4, 0, 4]))
case("indexing", "zero_d_int_tensor", lambda torch, x: x[torch.tensor(1)], randn(5, 3))
case("indexing", "embedding_table", lambda torch, c, ix: c[ix], randn(27, 2), EMBEDDING_INDEX)
case("indexing", "embedding_then_view",
     lambda torch, c, ix, w: c[ix].view(c[ix].shape[0], -1) @ w,
     randn(27, 2), EMBEDDING_INDEX, randn(6, 4))
case("indexing", "rows_and_labels", lambda torch, p, ys: p[range(6), ys], positive(6, 5), YS)
case("indexing", "arange_and_labels", lambda torch, p, ys: p[torch.arange(6), ys],
     positive(6, 5), YS)
case("indexing", "negative_log_likelihood",
     lambda torch, p, ys: -p[range(6), ys].log().mean(), positive(6, 5), YS)
case("indexing", "repeated_elements", lambda torch, p: p[[0, 0, 1, 1, 0], [2, 2, 0, 3, 2]],
     positive(6, 5))
case("indexing", "mask_from_comparison", lambda torch, x: x[x > 0], randn(4, 3))
case("indexing", "bool_tensor_mask", lambda torch, x, m: x[m], randn(2, 3),
     const([[True, False, True], [False, False, True]]))
case("indexing", "column_mask", lambda torch, x: x[:, torch.tensor([True, False, True])],
     randn(4, 3))
case("indexing", "none_front", lambda torch, x: x[None], randn(4, 3))
case("indexing", "none_middle", lambda torch, x: x[:, None], randn(4, 3))
case("indexing", "ellipsis_none", lambda torch, x: x[..., None], randn(4, 3))
case("indexing", "ellipsis_last", lambda torch, x: x[..., 1], randn(2, 3, 4))
case("indexing", "first_ellipsis", lambda torch, x: x[0, ...], randn(2, 3, 4))
case("indexing", "none_ellipsis_int", lambda torch, x: x[None, ..., 0], randn(2, 3, 4))
case("indexing", "slice_none_step", lambda torch, x: x[1:, None, ::2], randn(3, 5))
case("indexing", "negative_int", lambda torch, x: x[-1], randn(2, 3, 4))


# --- 6. in-place ops and item assignment --------------------------------------------------

LEAF = ("RuntimeError", ["leaf", "in-place"])


@scenario("inplace")
def inplace_on_plain_tensor(torch):
    t = torch.tensor([[1.0, -2.0, 3.0], [4.0, 5.0, -6.0]], dtype=torch.float64)
    steps = []
    t += 1
    steps.append(t.clone())
    t -= torch.tensor([0.5, 1.0, 1.5], dtype=torch.float64)
    steps.append(t.clone())
    t *= 2
    steps.append(t.clone())
    t /= 4
    steps.append(t.clone())
    t.add_(1)
    steps.append(t.clone())
    t.sub_(torch.tensor([[1.0], [2.0]], dtype=torch.float64))
    steps.append(t.clone())
    t.mul_(3)
    steps.append(t.clone())
    t.div_(torch.tensor([1.0, 2.0, 4.0], dtype=torch.float64))
    steps.append(t.clone())
    t.clamp_(-1, 1)
    steps.append(t.clone())
    t.clamp_(min=0)
    steps.append(t.clone())
    t.fill_(2.5)
    steps.append(t.clone())
    t.copy_(torch.tensor([1, 2, 3]))  # broadcast, and converted to t's dtype
    steps.append(t.clone())
    t.zero_()
    steps.append(t.clone())
    return {"steps": steps, "requires_grad": t.requires_grad}


@scenario("inplace")
def item_assignment(torch):
    t = torch.zeros(3, 4, dtype=torch.float64)
    steps = []
    t[0] = 1
    steps.append(t.clone())
    t[1, 2] = 5
    steps.append(t.clone())
    t[:, 3] = torch.tensor([7.0, 8.0, 9.0], dtype=torch.float64)
    steps.append(t.clone())
    t[t > 4] = -1
    steps.append(t.clone())
    t[[0, 2], [1, 1]] += 2
    steps.append(t.clone())
    t[[2, 2]] += 10     # a repeated index adds once (read, add, write), as in NumPy
    steps.append(t.clone())
    t[..., 0] -= 0.5
    steps.append(t.clone())
    t[range(3), [0, 1, 2]] *= 3
    steps.append(t.clone())
    t[1] /= 2
    steps.append(t.clone())
    return steps


WORDS = ["emma", "olivia", "ava", "isabella", "sophia", "charlotte", "mia", "amelia"]


@scenario("inplace")
def bigram_counts(torch):
    chars = sorted(set("".join(WORDS)))
    stoi = {s: i + 1 for i, s in enumerate(chars)}
    stoi["."] = 0
    N = torch.zeros((27, 27), dtype=torch.int32)
    for w in WORDS:
        chs = ["."] + list(w) + ["."]
        for ch1, ch2 in zip(chs, chs[1:]):
            N[stoi[ch1], stoi[ch2]] += 1
    P = (N + 1).float()
    P /= P.sum(1, keepdim=True)
    return {"N": N, "P_first_rows": P[:2]}


@scenario("inplace")
def leaf_under_no_grad(torch):
    w = torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64, requires_grad=True)
    with torch.no_grad():
        w += 1
        w.mul_(2)
        w[0] = 5
        w.clamp_(max=7)
    return {"w": w, "facts": (w.requires_grad, w.is_leaf, w.grad_fn is None)}


@scenario("inplace")
def no_grad_update_three_steps(torch):
    F = torch.nn.functional
    rng = np.random.default_rng(7)
    X = torch.tensor(rng.standard_normal((8, 5)))
    ys = torch.tensor(rng.integers(0, 3, 8))
    w = torch.tensor(rng.standard_normal((5, 3)), requires_grad=True)
    losses = []
    for _ in range(3):
        loss = F.cross_entropy(X @ w, ys)
        losses.append(loss.detach())
        w.grad = None
        loss.backward()
        with torch.no_grad():
            w -= 0.5 * w.grad
    return {"losses": losses, "w": w, "facts": (w.requires_grad, w.is_leaf)}


def _model(torch, seed):
    """A small float64 MLP with weights from a seeded NumPy generator (copied in under
    no_grad, as one loads weights by hand), an input and a target."""
    nn = torch.nn
    rng = np.random.default_rng(seed)
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 1)).double()
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.tensor(rng.standard_normal(tuple(p.shape))))
    X = torch.tensor(rng.standard_normal((6, 3)))
    Y = torch.tensor(rng.standard_normal((6, 1)))
    return model, X, Y


@scenario("inplace")
def parameters_update_under_no_grad(torch):
    model, X, Y = _model(torch, 8)
    losses = []
    for _ in range(3):
        loss = ((model(X) - Y) ** 2).mean()
        losses.append(loss.detach())
        model.zero_grad()
        loss.backward()
        with torch.no_grad():
            for p in model.parameters():
                p -= 0.1 * p.grad
    return {"losses": losses, "params": list(model.parameters()),
            "facts": [(p.requires_grad, p.is_leaf) for p in model.parameters()]}


@scenario("inplace", randn(4))
def non_leaf_iadd_is_recorded(torch, x):
    y = x * 2
    y += 1
    return y


@scenario("inplace", randn(4), randn(4))
def non_leaf_chain_is_recorded(torch, x, z):
    y = x * 2
    y -= z
    y *= z
    y /= 3
    y.add_(x)
    y.mul_(z)
    y.sub_(1)
    y.div_(z + 3)
    return y


@scenario("inplace", randn(5))
def non_leaf_clamp_is_recorded(torch, x):
    y = x * 1.5
    y.clamp_(min=-0.5, max=0.8)
    return y


@scenario("inplace", randn(4))
def non_leaf_setitem_zero(torch, x):
    y = x * 2
    y[0] = 0
    return y


@scenario("inplace", randn(5), randn(2))
def non_leaf_setitem_from_graph(torch, x, z):
    y = x * 2
    y[1:3] = z * 3
    return y


@scenario("inplace", randn(5))
def non_leaf_index_isub(torch, x):
    y = x * 2
    idx = [0, 3]
    y[idx] -= 1
    y[idx] *= x[idx]
    return y


@scenario("inplace", randn(6))
def non_leaf_mask_assignment(torch, x):
    y = x * 1.0
    y[y < 0] = 0  # ReLU by hand
    return y


@scenario("inplace", randn(4))
def modified_but_not_saved_is_fine(torch, x):
    y = x * 2
    z = y + 1   # an addition saves nothing, so changing y afterwards is harmless
    y.mul_(3)
    return z, y


@scenario("inplace")
def manual_cross_entropy_backward(torch):
    F = torch.nn.functional
    rng = np.random.default_rng(11)
    n = 6
    W = torch.tensor(rng.standard_normal((4, 5)), requires_grad=True)
    X = torch.tensor(rng.standard_normal((n, 4)))
    Yb = torch.tensor(rng.integers(0, 5, n))
    logits = X @ W
    logits.retain_grad()
    loss = F.cross_entropy(logits, Yb)
    loss.backward()
    dlogits = F.softmax(logits, 1)
    dlogits[range(n), Yb] -= 1
    dlogits /= n
    return {"dlogits": dlogits, "logits_grad": logits.grad, "W_grad": W.grad}


@scenario("inplace")
def version_counter(torch):
    x = torch.zeros(3, dtype=torch.float64)
    versions = [x._version]
    x += 1
    versions.append(x._version)
    x.add_(1)
    versions.append(x._version)
    x.mul_(2)
    versions.append(x._version)
    x[0] = 5
    versions.append(x._version)
    x.zero_()
    versions.append(x._version)
    x.fill_(2.0)
    versions.append(x._version)
    x.copy_(torch.ones(3, dtype=torch.float64))
    versions.append(x._version)
    x -= 1
    versions.append(x._version)
    x /= 2
    versions.append(x._version)
    return tuple(versions)


@scenario("inplace", randn(3), raises=LEAF)
def leaf_iadd_raises(torch, w):
    w += 1


case("inplace", "leaf_add__raises", lambda torch, w: w.add_(1), randn(3), raises=LEAF)
case("inplace", "leaf_mul__raises", lambda torch, w: w.mul_(2), randn(3), raises=LEAF)
case("inplace", "leaf_zero__raises", lambda torch, w: w.zero_(), randn(3), raises=LEAF)


@scenario("inplace", randn(3), raises=LEAF)
def leaf_setitem_raises(torch, w):
    w[0] = 1


@scenario("inplace", randn(3), raises=("RuntimeError", ["in-?place", "Exp"]))
def exp_output_changed_then_backward(torch, x):
    a = x.exp()
    a += 1
    a.sum().backward()


@scenario("inplace", randn(3), raises=("RuntimeError", ["in-?place", "Exp"]))
def exp_output_add__then_backward(torch, x):
    a = x.exp()
    a.add_(1)
    a.sum().backward()


@scenario("inplace", randn(3), raises=("RuntimeError", ["in-?place", "Mul"]))
def saved_mul_input_changed_then_backward(torch, x):
    y = x * 2
    z = y * y
    y.mul_(3)
    z.sum().backward()


# --- 7. .data and .grad -------------------------------------------------------------------


@scenario("data_grad")
def makemore_data_update(torch):
    F = torch.nn.functional
    rng = np.random.default_rng(9)
    xs = torch.tensor(rng.integers(0, 27, 20))
    ys = torch.tensor(rng.integers(0, 27, 20))
    W = torch.tensor(rng.standard_normal((27, 27)), requires_grad=True)
    losses = []
    for _ in range(3):
        xenc = F.one_hot(xs, num_classes=27).double()
        logits = xenc @ W
        counts = logits.exp()
        probs = counts / counts.sum(1, keepdims=True)
        loss = -probs[torch.arange(20), ys].log().mean() + 0.01 * (W ** 2).mean()
        losses.append(loss.item())
        W.grad = None
        loss.backward()
        W.data += -50 * W.grad
    # row sums and column sums of squares of W and of its last gradient: 108 numbers,
    # not 1458 (a wrong update anywhere changes them)
    return {"losses": losses, "W": (W.sum(1), (W * W).sum(0)),
            "last_grad": (W.grad.sum(1), (W.grad * W.grad).sum(0))}


@scenario("data_grad")
def parameters_data_update(torch):
    model, X, Y = _model(torch, 10)
    losses = []
    for _ in range(3):
        loss = ((model(X) - Y) ** 2).sum()
        losses.append(loss.item())
        for p in model.parameters():
            p.grad = None
        loss.backward()
        for p in model.parameters():
            p.data -= 0.05 * p.grad
    return {"losses": losses, "params": list(model.parameters())}


@scenario("data_grad")
def grad_zero_and_none(torch):
    x = torch.tensor([0.5, -1.0, 2.0], dtype=torch.float64, requires_grad=True)
    grads = []
    for step in ("first", "accumulated", "zeroed", "after_zero", "set_to_none", "fresh"):
        if step == "zeroed":
            x.grad.zero_()
        elif step == "set_to_none":
            x.grad = None
            grads.append(x.grad is None)
            continue
        else:
            (x ** 3).sum().backward()
        grads.append(x.grad.clone())
    return grads


@scenario("data_grad")
def requires_grad_attribute(torch):
    x = torch.tensor([1.0, -2.0, 3.0], dtype=torch.float64)
    before = x.requires_grad
    x.requires_grad = True
    (x * x * x).sum().backward()
    return {"before": before, "after": x.requires_grad, "is_leaf": x.is_leaf, "grad": x.grad}


@scenario("data_grad")
def requires_grad_method(torch):
    x = torch.tensor([1.0, -2.0, 3.0], dtype=torch.float64)
    same = x.requires_grad_() is x
    (x.exp()).sum().backward()
    y = torch.tensor([1.0], dtype=torch.float64, requires_grad=True).requires_grad_(False)
    return {"returns_self": same, "grad": x.grad, "switched_off": y.requires_grad}


# --- 8. nn and F --------------------------------------------------------------------------

LABELS = const([0, 2, 1, 2])

case("nn", "one_hot_inferred", lambda torch, t: torch.nn.functional.one_hot(t), LABELS)
case("nn", "one_hot_minus_one",
     lambda torch, t: torch.nn.functional.one_hot(t, num_classes=-1), LABELS)
case("nn", "one_hot_num_classes", lambda torch, t: torch.nn.functional.one_hot(t, 5), LABELS)
case("nn", "one_hot_2d", lambda torch, t: torch.nn.functional.one_hot(t, num_classes=4),
     const([[0, 1, 3], [3, 1, 0]]))
case("nn", "one_hot_float",
     lambda torch, t: torch.nn.functional.one_hot(t, num_classes=27).float(), LABELS)
for reduction in ("mean", "sum", "none"):
    case("nn", f"nll_loss_{reduction}",
         lambda torch, x, y, r=reduction: torch.nn.functional.nll_loss(
             torch.nn.functional.log_softmax(x, 1), y, reduction=r),
         randn(5, 4), const([3, 0, 1, 3, 2]))
    case("nn", f"mse_loss_{reduction}",
         lambda torch, a, b, r=reduction: torch.nn.functional.mse_loss(a, b, reduction=r),
         randn(3, 4), randn(3, 4))
case("nn", "nll_loss_default", lambda torch, x, y: torch.nn.functional.nll_loss(x, y),
     randn(5, 4), const([3, 0, 1, 3, 2]))
case("nn", "linear", lambda torch, x, w, b: torch.nn.functional.linear(x, w, b),
     randn(5, 3), randn(4, 3), randn(4))
case("nn", "linear_no_bias", lambda torch, x, w: torch.nn.functional.linear(x, w),
     randn(5, 3), randn(4, 3))
case("nn", "linear_3d_input", lambda torch, x, w, b: torch.nn.functional.linear(x, w, b),
     randn(2, 5, 3), randn(4, 3), randn(4))
case("nn", "flatten_module_0_1", lambda torch, x: torch.nn.Flatten(0, 1)(x), X3)
case("nn", "flatten_module_default", lambda torch, x: torch.nn.Flatten()(x), X3)
case("nn", "mse_module_sum", lambda torch, a, b: torch.nn.MSELoss(reduction="sum")(a, b),
     randn(3, 4), randn(3, 4))


@scenario("nn")
def parameter(torch):
    p = torch.nn.Parameter(torch.tensor([1.0, 2.0]))
    q = torch.nn.Parameter(torch.tensor([1.0, 2.0]), requires_grad=False)
    return {"p": leaf_facts(p), "q_requires_grad": q.requires_grad,
            "is_tensor": isinstance(p, torch.Tensor)}


@scenario("nn")
def parameter_inplace_under_no_grad(torch):
    p = torch.nn.Parameter(torch.zeros(3, dtype=torch.float64))
    steps = []
    with torch.no_grad():
        p.copy_(torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64))
        steps.append(p.clone())
        p.fill_(0.5)
        steps.append(p.clone())
        p.zero_()
        steps.append(p.clone())
    return {"steps": steps, "facts": leaf_facts(p)[1:]}


@scenario("nn")
def sequential_indexing(torch):
    nn = torch.nn
    first = nn.Linear(2, 3)
    model = nn.Sequential(first, nn.ReLU(), nn.Linear(3, 1))
    return {"first_is_layer": model[0] is first, "last": type(model[-1]).__name__,
            "slice": type(model[0:2]).__name__, "slice_len": len(model[0:2]),
            "slice_keeps_layer": model[0:2][0] is first, "len": len(model)}


@scenario("nn")
def batchnorm1d_running_stats(torch):
    rng = np.random.default_rng(12)
    bn = torch.nn.BatchNorm1d(3).double()
    outputs, stats = [], []
    for _ in range(2):
        x = torch.tensor(rng.normal(1.0, 2.0, (8, 3)))
        outputs.append(bn(x))
        stats.append((bn.running_mean.clone(), bn.running_var.clone()))
    return {"outputs": outputs, "running": stats}


@scenario("facts")  # not run with tinygrad_edu: the test reads it, then calls them all
def init_functions_take_generator(torch):
    # which nn.init functions accept generator= in this PyTorch
    names = ["normal_", "uniform_", "kaiming_normal_", "kaiming_uniform_", "xavier_normal_",
             "xavier_uniform_"]
    return {name: "generator" in inspect.signature(getattr(torch.nn.init, name)).parameters
            for name in names}


# --- 9. custom autograd Functions ---------------------------------------------------------


def legendre_functions(torch):
    """The PyTorch tutorial's custom Function, and a copy whose backward is deliberately
    twice the true derivative (so a test can tell which backward ran)."""

    class LegendrePolynomial3(torch.autograd.Function):
        @staticmethod
        def forward(ctx, input):
            ctx.save_for_backward(input)
            return 0.5 * (5 * input ** 3 - 3 * input)

        @staticmethod
        def backward(ctx, grad_output):
            input, = ctx.saved_tensors
            return grad_output * 1.5 * (5 * input ** 2 - 1)

    class LegendreTwiceTheDerivative(LegendrePolynomial3):
        @staticmethod
        def backward(ctx, grad_output):
            return 2 * LegendrePolynomial3.backward(ctx, grad_output)

    return LegendrePolynomial3, LegendreTwiceTheDerivative


case("function", "legendre", lambda torch, x: legendre_functions(torch)[0].apply(x), randn(6))
case("function", "legendre_wrong_backward",
     lambda torch, x: legendre_functions(torch)[1].apply(x), randn(6))


@scenario("function")
def legendre_tutorial_training(torch):
    dtype = torch.float64
    x = torch.linspace(-math.pi, math.pi, 2000, dtype=dtype)
    y = torch.sin(x)
    a = torch.full((), 0.0, dtype=dtype, requires_grad=True)
    b = torch.full((), -1.0, dtype=dtype, requires_grad=True)
    c = torch.full((), 0.0, dtype=dtype, requires_grad=True)
    d = torch.full((), 0.3, dtype=dtype, requires_grad=True)
    learning_rate = 5e-6
    P3 = legendre_functions(torch)[0].apply
    losses = []
    for _ in range(5):
        y_pred = a + b * P3(c + d * x)
        loss = (y_pred - y).pow(2).sum()
        losses.append(loss.item())
        loss.backward()
        with torch.no_grad():
            a -= learning_rate * a.grad
            b -= learning_rate * b.grad
            c -= learning_rate * c.grad
            d -= learning_rate * d.grad
            a.grad = None
            b.grad = None
            c.grad = None
            d.grad = None
    return {"losses": losses, "coefficients": (a, b, c, d)}


# ---------------------------------------------------------------------------------------
# running a case (here with torch; in the tests with tinygrad_edu) and storing results
# ---------------------------------------------------------------------------------------


def dtype_name(dtype) -> str:
    """"float32" for torch.float32, np.float32 and np.dtype("float32") alike."""
    text = str(dtype)
    return text[len("torch."):] if text.startswith("torch.") else np.dtype(dtype).name


def is_tensor(value) -> bool:
    return hasattr(value, "requires_grad") and hasattr(value, "shape") and hasattr(value, "dtype")


def encode(value, random: bool = False):
    """A result as JSON: tensors with their dtype, shape, values and requires_grad."""
    if is_tensor(value):
        array = np.array(value.detach().numpy())
        return {"kind": "tensor", "dtype": dtype_name(value.dtype), "shape": list(array.shape),
                "requires_grad": bool(value.requires_grad),
                "value": None if random else array.tolist()}
    if isinstance(value, dict):
        return {"kind": "dict", "items": {k: encode(v, random) for k, v in value.items()}}
    if isinstance(value, (tuple, list)):
        return {"kind": "tuple", "items": [encode(v, random) for v in value]}
    if isinstance(value, (bool, int, float, str)) or value is None:
        return {"kind": type(value).__name__, "value": value}
    if isinstance(value, np.generic):  # PyTorch gives Python numbers: a mismatch to report
        return {"kind": f"numpy.{type(value).__name__}", "value": value.item()}
    raise TypeError(f"cannot store a {type(value).__name__} ({value!r:.60})")


def tensors_in(value) -> list:
    if is_tensor(value):
        return [value]
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, (tuple, list)):
        return [t for v in value for t in tensors_in(v)]
    return []


def run(torch, case: Case, arrays: list, make_leaf: Callable, upstream: list | None = None,
        rng: np.random.Generator | None = None) -> dict:
    """Run `case` with the module `torch` on `arrays` (made into leaves by `make_leaf`).

    Returns {"result", "upstream", "grads"}: the encoded result, and when an input
    requires grad, the upstream weights used and the encoded input gradients of
    sum(output * upstream) (None for an input without one). `upstream` is drawn from
    `rng` (making the fixture) or given (the tests pass the stored one).
    """
    leaves = [make_leaf(a, spec.grad and a.dtype.kind == "f")
              for a, spec in zip(arrays, case.inputs)]
    result = case.code(torch, *leaves)
    out = {"result": encode(result, case.random), "upstream": None, "grads": None}
    outputs = [t for t in tensors_in(result) if t.requires_grad]
    if not outputs or not any(leaf.requires_grad for leaf in leaves):
        return out
    if upstream is None:
        upstream = [rng.standard_normal(tuple(t.shape)).astype(dtype_name(t.dtype))
                    for t in outputs]
        upstream = [u.round(3) for u in upstream]  # any weights do; short ones keep the file small
    upstream = [np.array(u, dtype=dtype_name(t.dtype)) for u, t in zip(upstream, outputs)]
    loss = sum((t * make_leaf(u, False)).sum() for t, u in zip(outputs, upstream))
    loss.backward()
    out["upstream"] = [u.tolist() for u in upstream]
    out["grads"] = [encode(leaf.grad) if leaf.grad is not None else None for leaf in leaves]
    return out


def fingerprint(case: Case) -> str:
    """A hash of the case's code and inputs as written: the tests compare it with the
    stored one to tell when this file changed and the fixture was not made again."""
    text = inspect.getsource(case.code) + repr(case.inputs) + repr(case.raises)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def shorten(value):
    """Floats to 12 significant digits (the tests compare to 1e-9 at the tightest): a
    smaller file. Inputs and upstream weights are short already, so they stay exact."""
    if isinstance(value, float):
        return float(f"{value:.12g}")
    if isinstance(value, dict):
        return {k: shorten(v) for k, v in value.items()}
    if isinstance(value, list):
        return [shorten(v) for v in value]
    return value


def main() -> None:
    import re

    import torch

    rng = np.random.default_rng(20260302)
    make_leaf = lambda array, grad: torch.tensor(array, requires_grad=grad)
    cases = {}
    for c in CASES:
        assert c.name not in cases, f"two cases named {c.name}"
        arrays = [make_array(spec, rng) for spec in c.inputs]
        entry = {"group": c.group, "fingerprint": fingerprint(c),
                 "inputs": [{"value": a.tolist(), "dtype": a.dtype.name,
                             "requires_grad": spec.grad and a.dtype.kind == "f"}
                            for a, spec in zip(arrays, c.inputs)]}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch.tensor(tensor) advises clone().detach()
            try:
                entry.update(run(torch, c, arrays, make_leaf, rng=rng))
                entry["raises"] = None
            except Exception as error:  # noqa: BLE001  (stored, then checked below)
                if c.raises is None:
                    raise
                entry["raises"] = {"type": type(error).__name__, "message": str(error)}
        if c.raises is not None:
            kind, words = c.raises
            assert entry["raises"] is not None, f"{c.name}: PyTorch did not raise"
            assert entry["raises"]["type"] == kind, f"{c.name}: {entry['raises']}"
            for word in words:
                assert re.search(word, entry["raises"]["message"], re.IGNORECASE), \
                    f"{c.name}: PyTorch's message lacks {word!r}: {entry['raises']['message']}"
        cases[c.name] = entry
    PATH.write_text(json.dumps({"torch_version": torch.__version__, "cases": shorten(cases)},
                               separators=(",", ":")) + "\n")
    print(f"torch {torch.__version__}: wrote {PATH} ({len(cases)} cases, "
          f"{PATH.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
