"""Optimizers and learning-rate schedulers, checked against their update rules.

Every optimizer runs a few steps on f(p) = sum(c * p^2) / 2 + sum(d * p), computed with
Tensor ops and `backward`. Its trajectory is compared, step by step and in float64, with
a NumPy transcription of PyTorch's documented algorithm written out again here, plainly
and separately from the library's code (the gradient there is the closed form c * p + d).
A few steps are also worked out by hand.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import optim
from tinygrad_edu.optim import lr_scheduler

# --- the objective: three parameters, one of each kind of shape ----------------------------

SHAPES = [(3,), (2, 3), ()]
_rng = np.random.default_rng(1234)
P0 = [_rng.normal(size=shape) for shape in SHAPES]             # starting points
C = [_rng.uniform(0.5, 2.0, size=shape) for shape in SHAPES]   # curvatures
D = [_rng.normal(size=shape) for shape in SHAPES]              # linear terms
STEPS = 8


def objective(params):
    """f(p) = sum over parameters of sum(c * p^2) / 2 + sum(d * p)."""
    loss = None
    for p, c, d in zip(params, C, D):
        term = (tg.Tensor(c) * p * p).sum() / 2 + (tg.Tensor(d) * p).sum()
        loss = term if loss is None else loss + term
    return loss


def fresh_params(dtype=np.float64):
    return [tg.Tensor(p.astype(dtype), requires_grad=True) for p in P0]


def run(optimizer, params, steps=STEPS):
    """Take `steps` steps; return the parameters' values after each one."""
    trajectory = []
    for _ in range(steps):
        optimizer.zero_grad()
        objective(params).backward()
        optimizer.step()
        trajectory.append([p.data.copy() for p in params])
    return trajectory


# --- the documented algorithms, one step each, written plainly ----------------------------
# Each takes the parameter p, its gradient g, a dict for its running quantities and the
# step number t (1 on the first step), and returns the new p.

def sgd_step(p, g, state, t, lr=1e-3, momentum=0.0, dampening=0.0, weight_decay=0.0,
             nesterov=False, maximize=False):
    if maximize:
        g = -g
    if weight_decay != 0:
        g = g + weight_decay * p
    if momentum != 0:
        if t == 1:
            b = g
        else:
            b = momentum * state["b"] + (1 - dampening) * g
        state["b"] = b
        g = g + momentum * b if nesterov else b
    return p - lr * g


def adam_step(p, g, state, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
              amsgrad=False, maximize=False, decoupled=False):
    beta1, beta2 = betas
    if maximize:
        g = -g
    if decoupled:
        p = p - lr * weight_decay * p
    elif weight_decay != 0:
        g = g + weight_decay * p
    m = beta1 * state.get("m", 0.0) + (1 - beta1) * g
    v = beta2 * state.get("v", 0.0) + (1 - beta2) * g**2
    state["m"], state["v"] = m, v
    m_hat = m / (1 - beta1**t)
    if amsgrad:
        state["v_max"] = np.maximum(state.get("v_max", 0.0), v)
        v_hat = state["v_max"] / (1 - beta2**t)
    else:
        v_hat = v / (1 - beta2**t)
    return p - lr * m_hat / (np.sqrt(v_hat) + eps)


def adamw_step(p, g, state, t, weight_decay=1e-2, **options):
    return adam_step(p, g, state, t, weight_decay=weight_decay, decoupled=True, **options)


def rmsprop_step(p, g, state, t, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0,
                 centered=False, maximize=False):
    if maximize:
        g = -g
    if weight_decay != 0:
        g = g + weight_decay * p
    v = alpha * state.get("v", 0.0) + (1 - alpha) * g**2
    state["v"] = v
    v_tilde = v
    if centered:
        g_avg = alpha * state.get("g_avg", 0.0) + (1 - alpha) * g
        state["g_avg"] = g_avg
        v_tilde = v - g_avg**2
    if momentum > 0:
        b = momentum * state.get("b", 0.0) + g / (np.sqrt(v_tilde) + eps)
        state["b"] = b
        return p - lr * b
    return p - lr * g / (np.sqrt(v_tilde) + eps)


def adagrad_step(p, g, state, t, lr=1e-2, lr_decay=0.0, weight_decay=0.0,
                 initial_accumulator_value=0.0, eps=1e-10, maximize=False):
    if maximize:
        g = -g
    lr_t = lr / (1 + (t - 1) * lr_decay)
    if weight_decay != 0:
        g = g + weight_decay * p
    total = state.get("sum", initial_accumulator_value) + g**2
    state["sum"] = total
    return p - lr_t * g / (np.sqrt(total) + eps)


REFERENCE = {optim.SGD: sgd_step, optim.Adam: adam_step, optim.AdamW: adamw_step,
             optim.RMSprop: rmsprop_step, optim.Adagrad: adagrad_step}
OPTIMIZERS = list(REFERENCE)


def class_names(cases):
    """Test ids for a table whose rows start with an optimizer class."""
    return [case[0].__name__ for case in cases]


def reference_run(step, options_per_param, steps=STEPS, starts=None):
    """The documented algorithm's trajectory on the objective (gradient c * p + d)."""
    params = [p.copy() for p in (P0 if starts is None else starts)]
    states = [{} for _ in params]
    trajectory = []
    for t in range(1, steps + 1):
        params = [step(p, c * p + d, state, t, **options)
                  for p, c, d, state, options in zip(params, C, D, states, options_per_param)]
        trajectory.append([p.copy() for p in params])
    return trajectory


def assert_same_trajectory(got, expected, rtol=1e-12, atol=1e-14):
    for k, (got_step, expected_step) in enumerate(zip(got, expected, strict=True)):
        for i, (g, e) in enumerate(zip(got_step, expected_step, strict=True)):
            np.testing.assert_allclose(g, e, rtol=rtol, atol=atol,
                                       err_msg=f"after step {k + 1}, parameter {i}")


# Every option of every optimizer, alone and combined.
CONFIGS = [
    (optim.SGD, {"lr": 0.1}),
    (optim.SGD, {"lr": 0.1, "momentum": 0.9}),
    (optim.SGD, {"lr": 0.1, "momentum": 0.9, "dampening": 0.5}),
    (optim.SGD, {"lr": 0.1, "momentum": 0.9, "nesterov": True}),
    (optim.SGD, {"lr": 0.1, "weight_decay": 0.1}),
    (optim.SGD, {"lr": 0.1, "maximize": True}),
    (optim.SGD, {"lr": 0.05, "momentum": 0.8, "weight_decay": 0.2, "nesterov": True,
                 "maximize": True}),
    (optim.Adam, {"lr": 0.1}),
    (optim.Adam, {"lr": 0.1, "betas": (0.9, 0.9), "amsgrad": True}),
    (optim.Adam, {"lr": 0.1, "weight_decay": 0.1}),
    (optim.Adam, {"lr": 0.1, "maximize": True}),
    (optim.Adam, {"lr": 0.1, "betas": (0.8, 0.99), "eps": 1e-3}),
    (optim.Adam, {"lr": 0.1, "betas": (0.5, 0.9), "weight_decay": 0.3, "amsgrad": True}),
    (optim.Adam, {"lr": 0.1, "weight_decay": 0.3, "maximize": True}),
    (optim.AdamW, {"lr": 0.1}),
    (optim.AdamW, {"lr": 0.1, "weight_decay": 0.5, "betas": (0.9, 0.9), "amsgrad": True}),
    (optim.AdamW, {"lr": 0.1, "maximize": True}),
    (optim.RMSprop, {"lr": 0.01}),
    (optim.RMSprop, {"lr": 0.01, "centered": True}),
    (optim.RMSprop, {"lr": 0.01, "momentum": 0.9}),
    (optim.RMSprop, {"lr": 0.01, "centered": True, "momentum": 0.9}),
    (optim.RMSprop, {"lr": 0.01, "weight_decay": 0.5}),
    (optim.RMSprop, {"lr": 0.01, "alpha": 0.9, "eps": 1e-3}),
    (optim.RMSprop, {"lr": 0.01, "maximize": True}),
    (optim.Adagrad, {"lr": 0.1}),
    (optim.Adagrad, {"lr": 0.1, "lr_decay": 0.5}),
    (optim.Adagrad, {"lr": 0.1, "initial_accumulator_value": 0.5}),
    (optim.Adagrad, {"lr": 0.1, "weight_decay": 0.5}),
    (optim.Adagrad, {"lr": 0.1, "eps": 1e-2}),
    (optim.Adagrad, {"lr": 0.1, "maximize": True}),
]
CONFIG_IDS = [f"{cls.__name__}-" + ",".join(f"{k}={v}" for k, v in options.items())
              for cls, options in CONFIGS]


@pytest.mark.parametrize(("cls", "options"), CONFIGS, ids=CONFIG_IDS)
def test_trajectory_matches_the_documented_algorithm(cls, options):
    params = fresh_params()
    got = run(cls(params, **options), params)
    expected = reference_run(REFERENCE[cls], [options] * len(params))
    assert_same_trajectory(got, expected)


@pytest.mark.parametrize(("cls", "options"), CONFIGS, ids=CONFIG_IDS)
def test_every_option_in_the_table_changes_the_trajectory(cls, options):
    # Otherwise the comparison above could not notice that an option is ignored.
    full = reference_run(REFERENCE[cls], [options] * len(SHAPES))
    for option in options:
        if option == "lr":
            continue
        reduced = {k: v for k, v in options.items() if k != option}
        without = reference_run(REFERENCE[cls], [reduced] * len(SHAPES))
        difference = max(np.max(np.abs(a - b)) for a, b in zip(full[-1], without[-1]))
        assert difference > 1e-6, f"{option} makes no difference to this test"


@pytest.mark.parametrize("cls", OPTIMIZERS, ids=[cls.__name__ for cls in OPTIMIZERS])
def test_pytorch_defaults(cls):
    params = fresh_params()
    got = run(cls(params), params, steps=3)
    expected = reference_run(REFERENCE[cls], [{}] * len(params), steps=3)
    assert_same_trajectory(got, expected)
    expected_defaults = {
        optim.SGD: {"lr": 1e-3, "momentum": 0, "dampening": 0, "weight_decay": 0},
        optim.Adam: {"lr": 1e-3, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0},
        optim.AdamW: {"lr": 1e-3, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 1e-2},
        optim.RMSprop: {"lr": 1e-2, "alpha": 0.99, "eps": 1e-8, "momentum": 0},
        optim.Adagrad: {"lr": 1e-2, "lr_decay": 0, "initial_accumulator_value": 0, "eps": 1e-10},
    }[cls]
    group = cls(fresh_params()).param_groups[0]
    assert {key: group[key] for key in expected_defaults} == expected_defaults


# --- steps worked out by hand --------------------------------------------------------------

def test_sgd_on_x_squared_multiplies_x_by_0_8_each_step():
    # f(x) = x^2, g = 2x, x <- x - 0.1 * 2x = 0.8 x
    x = tg.Tensor(np.array([5.0]), requires_grad=True)
    opt = optim.SGD([x], lr=0.1)
    for k in range(1, 11):
        opt.zero_grad()
        (x * x).sum().backward()
        opt.step()
        np.testing.assert_allclose(x.data, [5.0 * 0.8**k], rtol=1e-14)


def test_sgd_momentum_by_hand():
    # lr 0.1, momentum 0.5 on x^2 from 5:  g = 10, buf = 10, x = 4;
    # g = 8, buf = 0.5 * 10 + 8 = 13, x = 2.7;  g = 5.4, buf = 6.5 + 5.4 = 11.9, x = 1.51
    x = tg.Tensor(np.array(5.0), requires_grad=True)
    opt = optim.SGD([x], lr=0.1, momentum=0.5)
    for expected_x, expected_buf in [(4.0, 10.0), (2.7, 13.0), (1.51, 11.9)]:
        opt.zero_grad()
        (x * x).backward()
        opt.step()
        assert x.item() == pytest.approx(expected_x, rel=1e-14)
        assert opt.state[x]["momentum_buffer"] == pytest.approx(expected_buf, rel=1e-14)


# On f(p) = sum(w * p) the gradient is w: coordinates with wildly different gradients.
W = np.array([1e-3, -1.0, 50.0, -2e3])


@pytest.mark.parametrize(("make", "expected_move"), [
    # Adam: m_hat = g, v_hat = g^2 after one step, so the move is lr * g / (|g| + eps)
    (lambda p: optim.Adam([p], lr=0.01), 0.01 * W / (np.abs(W) + 1e-8)),
    # Adagrad: sum = g^2, the same shape of move
    (lambda p: optim.Adagrad([p], lr=0.01), 0.01 * W / (np.abs(W) + 1e-10)),
    # RMSprop: v = 0.01 g^2, so the move is lr * g / (0.1 |g| + eps): ten times lr
    (lambda p: optim.RMSprop([p], lr=0.01), 0.01 * W / (0.1 * np.abs(W) + 1e-8)),
], ids=["Adam", "Adagrad", "RMSprop"])
def test_first_step_of_adaptive_methods_ignores_the_gradients_size(make, expected_move):
    p = tg.Tensor(np.zeros(4), requires_grad=True)
    opt = make(p)
    (tg.Tensor(W) * p).sum().backward()
    opt.step()
    np.testing.assert_allclose(-p.data, expected_move, rtol=1e-14)
    scale = 10.0 if isinstance(opt, optim.RMSprop) else 1.0
    np.testing.assert_allclose(-p.data, scale * 0.01 * np.sign(W), rtol=1e-4)


def test_adamw_decay_is_decoupled_and_adam_weight_decay_is_not():
    # A zero gradient: AdamW only shrinks p, by exactly (1 - lr * wd) a step;
    # Adam's L2 term becomes the gradient and is normalized: it moves p by about lr.
    start = np.array([2.0, -3.0])
    p = tg.Tensor(start.copy(), requires_grad=True)
    q = tg.Tensor(start.copy(), requires_grad=True)
    adamw = optim.AdamW([p], lr=0.1, weight_decay=0.5)
    adam = optim.Adam([q], lr=0.1, weight_decay=0.5)
    for k in range(1, 6):
        p.grad = tg.Tensor(np.zeros(2))
        q.grad = tg.Tensor(np.zeros(2))
        adamw.step()
        adam.step()
        np.testing.assert_allclose(p.data, start * 0.95**k, rtol=1e-14)
        if k == 1:
            np.testing.assert_allclose(q.data, start - 0.1 * np.sign(start), rtol=1e-7)


# --- dtypes, gradients, state ----------------------------------------------------------------

FULL_OPTIONS = [
    (optim.SGD, {"lr": 0.1, "momentum": 0.9, "nesterov": True, "weight_decay": 0.1}),
    (optim.Adam, {"lr": 0.1, "amsgrad": True, "weight_decay": 0.1}),
    (optim.AdamW, {"lr": 0.1, "amsgrad": True}),
    (optim.RMSprop, {"centered": True, "momentum": 0.9, "weight_decay": 0.1}),
    (optim.Adagrad, {"lr_decay": 0.1, "weight_decay": 0.1, "initial_accumulator_value": 0.1}),
]


@pytest.mark.parametrize(("cls", "options"), FULL_OPTIONS, ids=class_names(FULL_OPTIONS))
def test_float32_parameters_and_state_stay_float32(cls, options):
    # NumPy scalars as options, given to the constructor and in a group: a np.float64
    # would make float64 temporaries and buffers
    options = {k: np.float64(v) if isinstance(v, float) else v for k, v in options.items()}
    params = fresh_params(np.float32)
    opt = cls([{"params": params[:2]}, {"params": params[2:], **options}], **options)
    for group in opt.param_groups:   # kept as Python numbers
        assert not any(isinstance(value, np.generic) for value in group.values())
    trajectory = run(opt, params, steps=3)
    assert all(x.dtype == np.float32 for step in trajectory for x in step)
    for p in params:
        arrays = [v for v in opt.state[p].values() if isinstance(v, np.ndarray)]
        assert arrays and all(a.dtype == np.float32 for a in arrays)
    # and the float32 run follows the float64 one to float32 precision
    expected = reference_run(REFERENCE[cls], [{k: float(v) if isinstance(v, np.floating) else v
                                               for k, v in options.items()}] * 3, steps=3)
    assert_same_trajectory(trajectory, expected, rtol=1e-5, atol=1e-6)


def test_a_gradient_of_another_dtype_does_not_change_the_states_dtype():
    p = tg.Tensor(np.ones(3, dtype=np.float32), requires_grad=True)
    opt = optim.SGD([p], lr=0.1, momentum=0.9)
    p.grad = tg.Tensor(np.full(3, 0.5))   # float64
    opt.step()
    assert p.dtype == np.float32 and opt.state[p]["momentum_buffer"].dtype == np.float32
    np.testing.assert_allclose(p.data, 0.95, rtol=1e-7)


def test_zero_grad_sets_gradients_to_none_by_default():
    params = fresh_params()
    opt = optim.SGD(params, lr=0.1)
    objective(params).backward()
    assert all(p.grad is not None for p in params)
    opt.zero_grad()
    assert all(p.grad is None for p in params)


def test_zero_grad_set_to_none_false_gives_zeros_and_stops_accumulation():
    x = tg.Tensor(np.array([1.0, 2.0]), requires_grad=True)
    y = tg.Tensor(np.array([3.0, 4.0]), requires_grad=True)
    opt = optim.SGD([x, y], lr=0.1)
    (x + y).sum().backward()   # backward may give both the same (read-only) array
    opt.zero_grad(set_to_none=False)
    for p in (x, y):
        assert p.grad.shape == p.shape and p.grad.dtype == p.dtype
        np.testing.assert_array_equal(p.grad.data, 0.0)
    (x * y).sum().backward()
    np.testing.assert_array_equal(x.grad.data, y.data)   # not 1 + y: the old grad is gone
    np.testing.assert_array_equal(y.grad.data, x.data)


@pytest.mark.parametrize("cls", OPTIMIZERS, ids=[cls.__name__ for cls in OPTIMIZERS])
def test_parameters_without_gradient_are_skipped_and_keep_their_own_step_count(cls):
    # a gets a gradient every step, b only on the even ones
    a = tg.Tensor(P0[0].copy(), requires_grad=True)
    b = tg.Tensor(P0[1].copy(), requires_grad=True)
    options = {"lr": 0.1, "momentum": 0.9} if cls is optim.SGD else {"lr": 0.1}
    opt = cls([a, b], **options)
    b_expected, b_state, b_steps = P0[1].copy(), {}, 0
    for k in range(1, 7):
        opt.zero_grad()
        loss = (tg.Tensor(C[0]) * a * a).sum()
        if k % 2 == 0:
            loss = loss + (tg.Tensor(C[1]) * b * b).sum() / 2 + (tg.Tensor(D[1]) * b).sum()
        b_before = b.data.copy()
        loss.backward()
        opt.step()
        if k % 2 == 1:
            np.testing.assert_array_equal(b.data, b_before)
        else:
            b_steps += 1
            b_expected = REFERENCE[cls](b_expected, C[1] * b_expected + D[1], b_state, b_steps,
                                        **options)
        np.testing.assert_allclose(b.data, b_expected, rtol=1e-12, atol=1e-14)
    if cls is not optim.SGD:
        assert opt.state[a]["step"] == 6 and opt.state[b]["step"] == 3


def test_a_parameter_that_never_gets_a_gradient_gets_no_state():
    a = tg.Tensor(np.ones(2), requires_grad=True)
    unused = tg.Tensor(np.ones(2), requires_grad=True)
    opt = optim.Adam([a, unused], lr=0.1)
    (a * a).sum().backward()
    opt.step()
    assert a in opt.state and unused not in opt.state
    np.testing.assert_array_equal(unused.data, 1.0)


GROUPS = [
    (optim.SGD, {"lr": 0.1, "momentum": 0.9}, {"lr": 0.01}),
    (optim.Adam, {"lr": 0.1}, {"lr": 0.02, "amsgrad": True, "betas": (0.8, 0.9)}),
    (optim.AdamW, {"lr": 0.1, "weight_decay": 0.5}, {"lr": 0.02}),
    (optim.RMSprop, {"lr": 0.01, "centered": True}, {"lr": 0.003, "momentum": 0.5}),
    (optim.Adagrad, {"lr": 0.1, "lr_decay": 0.5}, {"lr": 0.3}),
]


@pytest.mark.parametrize(("cls", "group0", "group1"), GROUPS, ids=class_names(GROUPS))
def test_param_groups_use_their_own_options(cls, group0, group1):
    params = fresh_params()
    opt = cls([{"params": [params[0], params[2]], **group0}, {"params": [params[1]], **group1}])
    got = run(opt, params)
    expected = reference_run(REFERENCE[cls], [group0, group1, group0])
    assert_same_trajectory(got, expected)


def test_a_group_that_leaves_out_an_option_takes_the_default():
    params = fresh_params()
    opt = optim.SGD([{"params": params[:2], "lr": 0.5}, {"params": params[2:]}], lr=0.1,
                    momentum=0.9)
    assert [g["lr"] for g in opt.param_groups] == [0.5, 0.1]
    assert [g["momentum"] for g in opt.param_groups] == [0.9, 0.9]


def test_add_param_group_adds_a_group_that_steps_from_its_own_first_step():
    params = fresh_params()
    opt = optim.Adam(params[:2], lr=0.1)
    run(opt, params, steps=2)
    start = params[2].data.copy()
    opt.add_param_group({"params": params[2], "betas": (0.5, 0.6)})
    assert opt.param_groups[1]["lr"] == 0.1 and opt.param_groups[1]["betas"] == (0.5, 0.6)
    got = [step[2] for step in run(opt, params, steps=3)]
    state, p = {}, start
    for t in range(1, 4):
        p = adam_step(p, C[2] * p + D[2], state, t, lr=0.1, betas=(0.5, 0.6))
        np.testing.assert_allclose(got[t - 1], p, rtol=1e-12)


def test_step_with_a_closure_returns_the_loss_and_uses_its_gradient():
    params = fresh_params()
    opt = optim.SGD(params, lr=0.1)
    before = [p.data.copy() for p in params]

    def closure():
        opt.zero_grad()
        loss = objective(params)
        loss.backward()
        return loss

    loss = opt.step(closure)
    expected_loss = sum(np.sum(c * p**2) / 2 + np.sum(d * p) for p, c, d in zip(before, C, D))
    assert loss.item() == pytest.approx(expected_loss, rel=1e-14)
    for p, b, c, d in zip(params, before, C, D):
        np.testing.assert_allclose(p.data, b - 0.1 * (c * b + d), rtol=1e-14)
    with tg.no_grad():   # the closure runs with grad on, even inside no_grad
        assert opt.step(closure).requires_grad


# --- state_dict -------------------------------------------------------------------------------

def assert_plain(value, where="state_dict"):
    """Only dicts, lists, str, int, float, bool, None and ndarrays (what tg.save stores)."""
    if isinstance(value, dict):
        for key, item in value.items():
            assert isinstance(key, (str, int)), f"{where}: key {key!r}"
            assert_plain(item, f"{where}[{key!r}]")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            assert_plain(item, f"{where}[{i}]")
    else:
        assert value is None or type(value) in (str, int, float, bool, np.ndarray), \
            f"{where} is a {type(value).__name__}"


def test_state_dict_layout_is_pytorchs():
    params = fresh_params()
    opt = optim.Adam([{"params": params[:2]}, {"params": [params[2]], "lr": 0.5}], lr=0.1)
    run(opt, params, steps=2)
    sd = opt.state_dict()
    assert_plain(sd)
    assert list(sd) == ["state", "param_groups"]
    assert [g["params"] for g in sd["param_groups"]] == [[0, 1], [2]]
    assert [g["lr"] for g in sd["param_groups"]] == [0.1, 0.5]
    assert sd["param_groups"][0]["betas"] == [0.9, 0.999]
    assert sorted(sd["state"]) == [0, 1, 2]
    for i, p in enumerate(params):
        state = sd["state"][i]
        assert state["step"] == 2 and type(state["step"]) is int
        assert set(state) == {"step", "exp_avg", "exp_avg_sq"}
        np.testing.assert_array_equal(state["exp_avg"], opt.state[p]["exp_avg"])
        assert state["exp_avg"].shape == p.shape


def test_state_dict_holds_copies():
    params = fresh_params()
    opt = optim.SGD(params, lr=0.1, momentum=0.9)
    run(opt, params, steps=2)
    sd = opt.state_dict()
    saved = sd["state"][0]["momentum_buffer"].copy()
    run(opt, params, steps=1)
    np.testing.assert_array_equal(sd["state"][0]["momentum_buffer"], saved)
    sd["param_groups"][0]["lr"] = 7.0
    assert opt.param_groups[0]["lr"] == 0.1


ROUND_TRIP = [
    (optim.SGD, {"lr": 0.1, "momentum": 0.9, "nesterov": True}),
    (optim.Adam, {"lr": 0.1, "amsgrad": True}),
    (optim.AdamW, {"lr": 0.1, "weight_decay": 0.3}),
    (optim.RMSprop, {"lr": 0.01, "centered": True, "momentum": 0.9}),
    (optim.Adagrad, {"lr": 0.1, "lr_decay": 0.2, "initial_accumulator_value": 0.1}),
]


@pytest.mark.parametrize(("cls", "options"), ROUND_TRIP, ids=class_names(ROUND_TRIP))
def test_state_dict_round_trip_continues_identically(cls, options):
    params = fresh_params()
    opt = cls([{"params": params[:2]}, {"params": params[2:], "lr": 0.02}], **options)
    run(opt, params, steps=3)
    sd = opt.state_dict()
    assert_plain(sd)

    copies = [tg.Tensor(p.data.copy(), requires_grad=True) for p in params]
    other = cls([{"params": copies[:2]}, {"params": copies[2:]}])   # default options
    other.load_state_dict(sd)
    assert [g["lr"] for g in other.param_groups] == [options["lr"], 0.02]
    for mine, theirs in zip(run(opt, params, steps=3), run(other, copies, steps=3)):
        for a, b in zip(mine, theirs, strict=True):
            np.testing.assert_array_equal(a, b)


def test_load_state_dict_accepts_numpy_scalars_from_a_file_and_casts_to_the_params_dtype():
    params = fresh_params()
    opt = optim.Adam(params, lr=0.1)
    run(opt, params, steps=2)
    sd = opt.state_dict()
    # what a round trip through an .npz file may give back
    sd["param_groups"][0]["lr"] = np.float64(0.1)
    sd["param_groups"][0]["betas"] = np.array([0.9, 0.999])
    for state in sd["state"].values():
        state["step"] = np.array(2)
    sd["state"][2]["exp_avg"] = np.float64(sd["state"][2]["exp_avg"])   # parameter 2 is 0-d
    sd["state"][0]["exp_avg_sq"] = sd["state"][0]["exp_avg_sq"].tolist()

    params32 = fresh_params(np.float32)
    other = optim.Adam(params32)
    other.load_state_dict(sd)
    group = other.param_groups[0]
    assert type(group["lr"]) is float and group["betas"] == (0.9, 0.999)
    for p in params32:
        assert type(other.state[p]["step"]) is int
        for key in ("exp_avg", "exp_avg_sq"):
            assert type(other.state[p][key]) is np.ndarray
            assert other.state[p][key].dtype == np.float32 and other.state[p][key].shape == p.shape
    exp_avg = other.state[params32[2]]["exp_avg"]
    run(other, params32, steps=1)
    assert all(p.dtype == np.float32 for p in params32)
    assert other.state[params32[2]]["exp_avg"] is exp_avg and exp_avg != sd["state"][2]["exp_avg"]


def test_optimizer_and_scheduler_resume_identically_through_a_file(tmp_path):
    params = fresh_params()
    opt = optim.RMSprop([{"params": params[:2]}, {"params": params[2:], "lr": 0.03}], lr=0.01,
                        centered=True, momentum=0.5)
    scheduler = lr_scheduler.CosineAnnealingLR(opt, T_max=5)
    for _ in range(3):
        run(opt, params, steps=1)
        scheduler.step()
    tg.save({"optimizer": opt.state_dict(), "scheduler": scheduler.state_dict()},
            tmp_path / "checkpoint.npz")

    checkpoint = tg.load(tmp_path / "checkpoint.npz")
    copies = [tg.Tensor(p.data.copy(), requires_grad=True) for p in params]
    other = optim.RMSprop([{"params": copies[:2]}, {"params": copies[2:]}])
    other_scheduler = lr_scheduler.CosineAnnealingLR(other, T_max=5)
    other.load_state_dict(checkpoint["optimizer"])
    other_scheduler.load_state_dict(checkpoint["scheduler"])
    for _ in range(3):
        for o, sched, ps in ((opt, scheduler, params), (other, other_scheduler, copies)):
            run(o, ps, steps=1)
            sched.step()
        assert other_scheduler.get_last_lr() == scheduler.get_last_lr()
        for a, b in zip(params, copies):
            np.testing.assert_array_equal(a.data, b.data)


def _trained_adam():
    params = fresh_params()
    opt = optim.Adam([{"params": params[:2]}, {"params": params[2:]}], lr=0.1)
    run(opt, params, steps=2)
    return opt, params


def _bad_shape(sd):
    sd["param_groups"][0]["lr"] = 0.5           # a change that must not be applied either
    sd["state"][1]["exp_avg"] = np.zeros((3, 2))  # parameter 1 has shape (2, 3)


def _missing_key(sd):
    del sd["state"][2]["exp_avg_sq"]


def _fewer_groups(sd):
    del sd["param_groups"][1]


def _group_size(sd):
    sd["param_groups"][0]["params"] = [0]


def _bad_option(sd):
    sd["param_groups"][1]["betas"] = [0.9, 1.5]


def _foreign_state(sd):
    sd["state"][0]["momentum_buffer"] = np.zeros(3)   # a key that only SGD and RMSprop keep


@pytest.mark.parametrize(("spoil", "message"), [
    (_bad_shape, r"param group 0, parameter 1.*'exp_avg' has shape \(3, 2\).*shape \(2, 3\)"),
    (_missing_key, r"param group 1, parameter 0 has no 'exp_avg_sq'"),
    (_fewer_groups, r"1 param group\(s\), this optimizer has 2"),
    (_group_size, r"param group 0 has 1 parameter\(s\) in the state dict and 2 here"),
    (_bad_option, r"Adam \(param group 1 of the loaded state dict\): betas\[1\]=1.5 is invalid"),
    (_foreign_state, r"param group 0, parameter 0 has 'momentum_buffer' \(Adam keeps step, "
                     r"exp_avg, exp_avg_sq, max_exp_avg_sq\): was it saved by another optimizer"),
], ids=["shape", "missing key", "groups", "group size", "option", "another optimizer"])
def test_load_state_dict_rejects_bad_input_and_changes_nothing(spoil, message):
    opt, params = _trained_adam()
    sd = opt.state_dict()
    spoil(sd)
    before = opt.state_dict()
    state_objects = [opt.state[p] for p in params]
    with pytest.raises(ValueError, match=message):
        opt.load_state_dict(sd)
    after = opt.state_dict()
    assert [g["lr"] for g in after["param_groups"]] == [0.1, 0.1]
    assert [opt.state[p] for p in params] == state_objects
    for i in before["state"]:
        for key in before["state"][i]:
            np.testing.assert_array_equal(after["state"][i][key], before["state"][i][key])


# --- errors -----------------------------------------------------------------------------------

def _params():
    return [tg.Tensor(np.ones(2), requires_grad=True)]


def _non_leaf():
    p = tg.Tensor(np.ones(2), requires_grad=True)
    return [p * 2]


def _same_param_twice():
    p = tg.Tensor(np.ones(2), requires_grad=True)
    return optim.SGD([{"params": [p]}, {"params": [p], "lr": 0.5}], lr=0.1)


def _bad_group_lr():
    opt = optim.Adam(_params())
    opt.add_param_group({"params": _params(), "lr": -1.0})


@pytest.mark.parametrize(("make", "error", "words"), [
    (lambda: optim.SGD(_params(), lr=-0.1), ValueError, ["SGD", "lr=-0.1"]),
    (lambda: optim.SGD(_params(), momentum=-0.5), ValueError, ["SGD", "momentum=-0.5"]),
    (lambda: optim.SGD(_params(), lr=0.1, nesterov=True), ValueError,
     ["SGD", "nesterov", "momentum=0"]),
    (lambda: optim.SGD(_params(), lr=0.1, momentum=0.9, dampening=0.1, nesterov=True),
     ValueError, ["SGD", "nesterov", "dampening=0.1"]),
    (lambda: optim.SGD(_params(), lr="fast"), TypeError, ["SGD", "lr", "number", "fast"]),
    (lambda: optim.Adam(_params(), betas=(1.0, 0.999)), ValueError,
     ["Adam", "betas[0]=1.0", "[0, 1)"]),
    (lambda: optim.Adam(_params(), betas=(0.9, -0.1)), ValueError, ["Adam", "betas[1]=-0.1"]),
    (lambda: optim.Adam(_params(), betas=0.9), ValueError, ["Adam", "betas=0.9", "two numbers"]),
    (lambda: optim.Adam(_params(), eps=-1e-8), ValueError, ["Adam", "eps=-1e-08"]),
    (lambda: optim.AdamW(_params(), weight_decay=-0.01), ValueError,
     ["AdamW", "weight_decay=-0.01"]),
    (lambda: optim.RMSprop(_params(), alpha=-0.9), ValueError, ["RMSprop", "alpha=-0.9"]),
    (lambda: optim.RMSprop(_params(), momentum=-1), ValueError, ["RMSprop", "momentum=-1"]),
    (lambda: optim.Adagrad(_params(), lr_decay=-1.0), ValueError, ["Adagrad", "lr_decay=-1.0"]),
    (lambda: optim.Adagrad(_params(), initial_accumulator_value=-1.0), ValueError,
     ["Adagrad", "initial_accumulator_value=-1.0"]),
    (_bad_group_lr, ValueError, ["Adam (param group 1)", "lr=-1.0"]),
    (lambda: optim.SGD([tg.Tensor(np.ones(2))], lr=0.1), ValueError,
     ["SGD", "parameter 0", "does not require grad"]),
    (lambda: optim.Adam(_non_leaf()), ValueError, ["Adam", "parameter 0", "not a leaf", "Mul"]),
    (_same_param_twice, ValueError, ["SGD (param group 1)", "already in param group 0"]),
    (lambda: optim.SGD([], lr=0.1), ValueError, ["SGD", "empty parameter list"]),
    (lambda: optim.Adam(p for p in []), ValueError, ["Adam", "empty parameter list"]),
    (lambda: optim.SGD(_params()[0], lr=0.1), TypeError, ["SGD", "single Tensor"]),
    (lambda: optim.SGD([np.ones(2)], lr=0.1), TypeError, ["SGD", "ndarray", "not a Tensor"]),
])
def test_errors_name_the_optimizer_the_option_and_the_value(make, error, words):
    with pytest.raises(error) as info:
        make()
    for word in words:
        assert word in str(info.value)


# --- learning-rate schedulers ------------------------------------------------------------------

BASE_LRS = [0.1, 0.4]


def two_group_sgd():
    params = fresh_params()
    return optim.SGD([{"params": params[:2], "lr": BASE_LRS[0]},
                      {"params": params[2:], "lr": BASE_LRS[1]}], momentum=0.9)


def lrs_over_epochs(scheduler, epochs=10):
    """The groups' lr at epochs 0, 1, ..., checked against get_last_lr and last_epoch."""
    seen = []
    for epoch in range(epochs):
        lrs = [group["lr"] for group in scheduler.optimizer.param_groups]
        assert scheduler.get_last_lr() == lrs and scheduler.last_epoch == epoch
        seen.append(lrs)
        scheduler.optimizer.step()
        scheduler.step()
    return np.array(seen)


def warm_up(epoch):
    return min(1.0, (epoch + 1) / 4)


@pytest.mark.parametrize(("make", "closed_form"), [
    # closed_form(group, base_lr, epoch)
    (lambda opt: lr_scheduler.StepLR(opt, step_size=3, gamma=0.5),
     lambda i, base, e: base * 0.5 ** (e // 3)),
    (lambda opt: lr_scheduler.ExponentialLR(opt, gamma=0.8),
     lambda i, base, e: base * 0.8**e),
    (lambda opt: lr_scheduler.CosineAnnealingLR(opt, T_max=4, eta_min=0.01),
     lambda i, base, e: 0.01 + (base - 0.01) * (1 + math.cos(math.pi * e / 4)) / 2),
    (lambda opt: lr_scheduler.LambdaLR(opt, [warm_up, lambda e: 0.9**e]),
     lambda i, base, e: base * (warm_up(e) if i == 0 else 0.9**e)),
    (lambda opt: lr_scheduler.LambdaLR(opt, warm_up),
     lambda i, base, e: base * warm_up(e)),
], ids=["StepLR", "ExponentialLR", "CosineAnnealingLR", "LambdaLR-list", "LambdaLR-one"])
def test_scheduler_follows_its_closed_form(make, closed_form):
    opt = two_group_sgd()
    scheduler = make(opt)
    assert [group["initial_lr"] for group in opt.param_groups] == BASE_LRS
    assert scheduler.base_lrs == BASE_LRS
    got = lrs_over_epochs(scheduler)
    expected = [[closed_form(i, base, e) for i, base in enumerate(BASE_LRS)] for e in range(10)]
    np.testing.assert_allclose(got, expected, rtol=1e-14)


def test_step_lr_by_hand():
    opt = two_group_sgd()
    scheduler = lr_scheduler.StepLR(opt, step_size=3, gamma=0.5)
    np.testing.assert_allclose(lrs_over_epochs(scheduler, 7)[:, 0],
                               [0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025], rtol=1e-15)


def test_cosine_hits_its_landmarks_and_equals_pytorchs_recursive_form():
    opt = two_group_sgd()
    T_max, eta_min = 6, 0.02
    scheduler = lr_scheduler.CosineAnnealingLR(opt, T_max=T_max, eta_min=eta_min)
    got = lrs_over_epochs(scheduler, 3 * T_max + 1)[:, 1]
    assert got[0] == pytest.approx(0.4, rel=1e-15)
    assert got[T_max // 2] == pytest.approx((0.4 + eta_min) / 2, rel=1e-14)
    assert got[T_max] == pytest.approx(eta_min, rel=1e-14)
    assert got[2 * T_max] == pytest.approx(0.4, rel=1e-14)   # and back up: period 2 T_max
    # PyTorch's step(): lr_t from lr_{t-1}, with a special case where the ratio is 0 / 0
    lr, recursive = 0.4, [0.4]
    for t in range(1, 3 * T_max + 1):
        if (t - 1 - T_max) % (2 * T_max) == 0:
            lr = lr + (0.4 - eta_min) * (1 - math.cos(math.pi / T_max)) / 2
        else:
            lr = (eta_min + (1 + math.cos(math.pi * t / T_max))
                  / (1 + math.cos(math.pi * (t - 1) / T_max)) * (lr - eta_min))
        recursive.append(lr)
    np.testing.assert_allclose(got, recursive, rtol=1e-12)


def test_the_optimizer_steps_with_the_scheduled_lr():
    x = tg.Tensor(np.array([0.0]), requires_grad=True)
    opt = optim.SGD([x], lr=1.0)
    scheduler = lr_scheduler.ExponentialLR(opt, gamma=0.5)
    for _ in range(4):
        opt.zero_grad()
        x.sum().backward()   # gradient 1: each step moves x by -lr
        opt.step()
        scheduler.step()
    np.testing.assert_allclose(x.data, [-(1 + 0.5 + 0.25 + 0.125)], rtol=1e-15)


@pytest.mark.parametrize("make", [
    lambda opt: lr_scheduler.StepLR(opt, step_size=2, gamma=0.3),
    lambda opt: lr_scheduler.ExponentialLR(opt, gamma=0.7),
    lambda opt: lr_scheduler.CosineAnnealingLR(opt, T_max=5, eta_min=0.001),
    lambda opt: lr_scheduler.LambdaLR(opt, lambda e: 1 / (1 + e)),
], ids=["StepLR", "ExponentialLR", "CosineAnnealingLR", "LambdaLR"])
def test_scheduler_state_dict_round_trip(make):
    opt = two_group_sgd()
    scheduler = make(opt)
    lrs_over_epochs(scheduler, 4)
    sd = scheduler.state_dict()
    assert_plain(sd)
    assert sd["last_epoch"] == 4 and sd["base_lrs"] == BASE_LRS

    other_opt = two_group_sgd()
    for group in other_opt.param_groups:
        group["lr"] *= 3   # the fresh run starts elsewhere: the loaded state must win
    other = make(other_opt)
    other_opt.load_state_dict(opt.state_dict())
    other.load_state_dict(sd)
    assert other.last_epoch == 4 and other.get_last_lr() == scheduler.get_last_lr()
    for _ in range(5):
        scheduler.step()
        other.step()
        assert other.get_last_lr() == scheduler.get_last_lr()
        assert ([g["lr"] for g in other_opt.param_groups]
                == [g["lr"] for g in opt.param_groups])


@pytest.mark.parametrize(("make", "error", "words"), [
    (lambda opt: lr_scheduler.StepLR(opt, step_size=0), ValueError, ["StepLR", "step_size=0"]),
    (lambda opt: lr_scheduler.StepLR(opt, step_size=1.5), ValueError, ["StepLR", "step_size=1.5"]),
    (lambda opt: lr_scheduler.CosineAnnealingLR(opt, T_max=0), ValueError,
     ["CosineAnnealingLR", "T_max=0"]),
    (lambda opt: lr_scheduler.LambdaLR(opt, [lambda e: 1.0]), ValueError,
     ["LambdaLR", "1 function", "2 param group"]),
    (lambda opt: lr_scheduler.ExponentialLR("sgd", gamma=0.5), TypeError,
     ["ExponentialLR", "Optimizer", "str"]),
    (lambda opt: lr_scheduler.ExponentialLR(opt, gamma=0.5, last_epoch=3), KeyError,
     ["ExponentialLR", "initial_lr", "param group 0"]),
    (lambda opt: lr_scheduler.ExponentialLR(opt, gamma=0.5).load_state_dict(
        lr_scheduler.StepLR(two_group_sgd(), step_size=2).state_dict()), ValueError,
     ["ExponentialLR.load_state_dict", "step_size"]),
], ids=["step_size", "step_size int", "T_max", "lambdas", "optimizer", "resume", "foreign"])
def test_scheduler_errors(make, error, words):
    with pytest.raises(error) as info:
        make(two_group_sgd())
    for word in words:
        assert word in str(info.value)
