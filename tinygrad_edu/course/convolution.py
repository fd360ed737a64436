"""Stage 6: convolution. im2col and its adjoint col2im, then the backward of a 2-D
convolution written as two matrix products and a col2im.

The references below are written with loops over the windows, the plainest way to say
what each function computes; the student's versions are compared with them.
"""

from __future__ import annotations

import numpy as np

from .exercise import Exercise
from .grading import Mistake, Row, attempt, compare

STAGE = "convolution"


# --- im2col and col2im, by loops, in the right layout and in the classic wrong ones ------


def _out_size(x_shape, kh: int, kw: int, stride: int) -> tuple[int, int]:
    """(out_h, out_w): how many window positions fit down and across."""
    h, w = x_shape[2:]
    return (h - kh) // stride + 1, (w - kw) // stride + 1


def _windows(x: np.ndarray, kh: int, kw: int, stride: int) -> np.ndarray:
    """(N, C, kh, kw, out_h, out_w): entry [n, c, i, j, oh, ow] is
    x[n, c, oh*stride + i, ow*stride + j], the pixel at offset (i, j) of window (oh, ow)."""
    out_h, out_w = _out_size(x.shape, kh, kw, stride)
    windows = np.empty(x.shape[:2] + (kh, kw, out_h, out_w))
    for oh in range(out_h):
        for ow in range(out_w):
            top, left = oh * stride, ow * stride
            windows[..., oh, ow] = x[:, :, top:top + kh, left:left + kw]
    return windows


# How each layout orders the axes of _windows before they are flattened into
# (N, rows, columns). "right" is the layout of the exercise (and of tg.nn.Conv2d): rows
# (c, i, j), as W.reshape(F, -1) flattens a filter; columns (oh, ow), row by row.
LAYOUTS = {
    "right": (0, 1, 2, 3, 4, 5),
    "(kh, kw, C) rows": (0, 2, 3, 1, 4, 5),
    "(C, kw, kh) rows": (0, 1, 3, 2, 4, 5),
    "windows by columns": (0, 1, 2, 3, 5, 4),
}
LAYOUT_HINTS = {
    "(kh, kw, C) rows": (
        "your rows go in the order (kernel row, kernel column, channel), (kh, kw, C): "
        "W.reshape(F, -1) flattens each filter channel first, (C, kh, kw), so row "
        "c*kh*kw + i*kw + j must hold channel c at kernel offset (i, j)"),
    "(C, kw, kh) rows": (
        "your rows go (channel, kernel column, kernel row): the kernel's rows and columns "
        "are swapped. Row c*kh*kw + i*kw + j holds offset (i, j), i down and j across, "
        "as in w[f, c, i, j]"),
    "windows by columns": (
        "your windows go down each column first: column oh*out_w + ow must hold the "
        "window at output row oh, output column ow (row by row), so that the product "
        "reshapes to (out_h, out_w)"),
}


def im2col_reference(x, kh, kw, stride=1, layout="right"):
    """cols (N, C*kh*kw, out_h*out_w) in `layout` (one of LAYOUTS)."""
    windows = _windows(x, kh, kw, stride).transpose(LAYOUTS[layout])
    return windows.reshape(x.shape[0], -1, windows.shape[-2] * windows.shape[-1])


def col2im_reference(cols, x_shape, kh, kw, stride=1, layout="right", overlap="add"):
    """The adjoint of im2col_reference(., layout): each column entry goes back to its
    pixel. overlap="add" is right; "last window" (= in a loop over the windows) and
    "last offset" (= in a loop over the kernel offsets, or x[index] += v with repeated
    indices) keep one window's value where windows overlap: the classic mistake."""
    n, c = x_shape[:2]
    out_h, out_w = _out_size(x_shape, kh, kw, stride)
    shape = np.array((n, c, kh, kw, out_h, out_w))[list(LAYOUTS[layout])]
    blocks = cols.reshape(shape).transpose(np.argsort(LAYOUTS[layout]))  # (N, C, kh, kw, ..)
    x = np.zeros(x_shape)
    if overlap == "last offset":
        for i in range(kh):
            for j in range(kw):
                x[:, :, i:i + stride * out_h:stride, j:j + stride * out_w:stride] = \
                    blocks[:, :, i, j]
        return x
    for oh in range(out_h):
        for ow in range(out_w):
            window = x[:, :, oh * stride:oh * stride + kh, ow * stride:ow * stride + kw]
            if overlap == "add":
                window += blocks[..., oh, ow]
            else:  # "last window"
                window[...] = blocks[..., oh, ow]
    return x


HINT_OVERLAP = (
    "pixels covered by several windows got one window's value only: im2col copied such "
    "a pixel into each of those windows, so col2im must add all their entries back into "
    "it (+=, not =; and with an index array, x[index] += v adds once per distinct index: "
    "np.add.at(x, index, v) adds every one)")


# --- exercise: im2col and col2im ---------------------------------------------------------

# (x's shape, kh, kw, stride): every kernel is larger than the stride on at least one
# axis, so that windows overlap (col2im must add); non-square kernels and images, so
# that rows and columns cannot be confused; strides that leave a row or column unused.
IM2COL_CASES = [
    ((1, 1, 4, 4), 2, 2, 1),
    ((2, 3, 5, 5), 3, 3, 1),
    ((1, 2, 5, 6), 2, 3, 1),
    ((2, 2, 7, 7), 3, 3, 2),
    ((1, 2, 8, 7), 3, 2, 2),
]
ADJOINT_CASES = [1, 3]  # which of IM2COL_CASES the adjoint identity is checked on


def _label(kind: str, x_shape, kh, kw, stride) -> str:
    return f"{kind:<8} x {x_shape}, {kh}x{kw} kernel, stride {stride}"


def _im2col_shape_hints(got_shape, x_shape, kh, kw, stride) -> list[str]:
    """What a wrong shape of cols says: the transpose, or a wrong count of windows."""
    n, c, h, w = x_shape
    out_h, out_w = _out_size(x_shape, kh, kw, stride)
    rows, columns = c * kh * kw, out_h * out_w
    if got_shape == (n, columns, rows):
        return ["your cols are (N, out_h*out_w, C*kh*kw), one window per row: the "
                "transpose. Make each window a column, (N, C*kh*kw, out_h*out_w), so that "
                "W.reshape(F, -1) @ cols is the convolution"]
    if len(got_shape) != 3 or got_shape[:2] != (n, rows) or got_shape[2] == columns:
        return []
    hint = (f"your cols have {got_shape[2]} columns, one per window; an image of {h}x{w}, "
            f"a kernel of {kh}x{kw} and stride {stride} give (H - kh) // stride + 1 = {out_h} "
            f"window positions down and (W - kw) // stride + 1 = {out_w} across, "
            f"{columns} in all")
    if got_shape[2] == ((h - kh) // stride) * ((w - kw) // stride):
        hint += (": yours has one fewer on each axis (the + 1 is missing: a window also "
                 "starts at the last position, H - kh)")
    elif got_shape[2] == (h - kh + 1) * (w - kw + 1):
        hint += ": yours is the count for stride 1 (windows start every stride pixels)"
    return [hint]


def _as_array(value) -> np.ndarray | None:
    """What the student returned (an array, or a Tensor) as a float64 array; None when
    it is not numbers (compare has said so)."""
    try:
        return np.asarray(getattr(value, "data", value), dtype=np.float64)
    except (TypeError, ValueError):
        return None


def _layout_hints(got, want_by_layout: dict) -> list[str]:
    """The hint of each wrong layout whose result equals the student's."""
    return [LAYOUT_HINTS[name] for name, want in want_by_layout.items()
            if name != "right" and got.shape == want.shape and np.allclose(got, want)]


def check_im2col(module, path, seed):
    """im2col against the loop reference, col2im against its reference (and against the
    classic assignment where it must add), then the adjoint identity with both of the
    student's functions."""
    rng = np.random.default_rng(seed)
    rows = []
    for x_shape, kh, kw, stride in IM2COL_CASES:
        x = rng.standard_normal(x_shape)
        label = _label("im2col", x_shape, kh, kw, stride)

        def run_im2col(x=x, kh=kh, kw=kw, stride=stride, label=label):
            got = module.im2col(x.copy(), kh, kw, stride)
            row = compare(label, got, im2col_reference(x, kh, kw, stride), name="cols")
            if not row.passed:
                got = _as_array(got)
                if got is None:
                    return row
                row.hints += _im2col_shape_hints(got.shape, x.shape, kh, kw, stride)
                row.hints += _layout_hints(got, {
                    name: im2col_reference(x, kh, kw, stride, name) for name in LAYOUTS})
            return row
        rows.append(attempt(label, path, run_im2col))

    for x_shape, kh, kw, stride in IM2COL_CASES:
        out_h, out_w = _out_size(x_shape, kh, kw, stride)
        cols = rng.standard_normal((x_shape[0], x_shape[1] * kh * kw, out_h * out_w))
        label = _label("col2im", x_shape, kh, kw, stride)

        def run_col2im(cols=cols, x_shape=x_shape, kh=kh, kw=kw, stride=stride, label=label):
            got = module.col2im(cols.copy(), x_shape, kh, kw, stride)
            row = compare(label, got, col2im_reference(cols, x_shape, kh, kw, stride),
                          name="image")
            if not row.passed:
                got = _as_array(got)
                if got is None:
                    return row
                assigned = [col2im_reference(cols, x_shape, kh, kw, stride, overlap=overlap)
                            for overlap in ("last window", "last offset")]
                if any(got.shape == a.shape and np.allclose(got, a) for a in assigned):
                    row.hints.append(HINT_OVERLAP)
                row.hints += [f"in col2im, {hint}" for hint in _layout_hints(got, {
                    name: col2im_reference(cols, x_shape, kh, kw, stride, name)
                    for name in LAYOUTS})]
            return row
        rows.append(attempt(label, path, run_col2im))

    for number in ADJOINT_CASES:
        x_shape, kh, kw, stride = IM2COL_CASES[number]
        label = _label("adjoint", x_shape, kh, kw, stride)
        x = rng.standard_normal(x_shape)
        out_h, out_w = _out_size(x_shape, kh, kw, stride)
        c = rng.standard_normal((x_shape[0], x_shape[1] * kh * kw, out_h * out_w))

        def run_adjoint(x=x, c=c, kh=kh, kw=kw, stride=stride, label=label):
            cols = _as_array(module.im2col(x.copy(), kh, kw, stride))
            image = _as_array(module.col2im(c.copy(), x.shape, kh, kw, stride))
            if cols is None or image is None:
                return Row(label, False, "not numbers",
                           ["im2col or col2im returned something that is not an array"])
            if cols.shape != c.shape or image.shape != x.shape:
                return Row(label, False, "wrong shapes",
                           [f"im2col(x) has shape {cols.shape} (right: {c.shape}), "
                            f"col2im(c) has shape {image.shape} (right: {x.shape})"])
            left, right = float(np.sum(cols * c)), float(np.sum(x * image))
            if np.isclose(left, right, rtol=1e-9, atol=1e-9):
                return Row(label, True)
            return Row(label, False, "<im2col(x), c> != <x, col2im(c)>",
                       [f"for random x and c, sum(im2col(x) * c) = {left:.6g} but "
                        f"sum(x * col2im(c)) = {right:.6g}: they must be equal"],
                       ["col2im is im2col's adjoint (its transpose, as a matrix): every "
                        "entry of c must go back to the very pixel that im2col copied "
                        "into that place, and be added to what that pixel already got"])
        rows.append(attempt(label, path, run_adjoint))
    return rows


# --- exercise: the backward of conv2d ----------------------------------------------------


def _stride(x_shape, w_shape, out_shape) -> int:
    """The stride that turns x into out with kernel w (the smallest, where several do:
    the template's cases use 1 and 2, which the output size always tells apart)."""
    for stride in range(1, max(x_shape[2:]) + 1):
        if _out_size(x_shape, *w_shape[2:], stride) == tuple(out_shape[2:]):
            return stride
    raise ValueError(f"no stride turns {x_shape} into {out_shape}")


def _conv_parts(g, out, x, w):
    """(the stride, cols (N, K, P), G (N, F, P)) of a conv2d case, from its arrays."""
    stride = _stride(x.shape, w.shape, out.shape)
    cols = im2col_reference(x, *w.shape[2:], stride)
    return stride, cols, g.reshape(g.shape[0], g.shape[1], -1)


def _grad_w(g, out, x, w):
    """The right dL/dw = sum over n of G[n] @ cols[n]^T, in w's shape."""
    _, cols, g2 = _conv_parts(g, out, x, w)
    return (g2 @ cols.transpose(0, 2, 1)).sum(axis=0).reshape(w.shape)


def _grad_x(g, out, x, w, *, overlap="add", flip=False):
    """dL/dx = col2im(W^T @ G), or a mistaken version of it."""
    stride, _, g2 = _conv_parts(g, out, x, w)
    kernel = w[..., ::-1, ::-1] if flip else w
    grad_cols = kernel.reshape(w.shape[0], -1).T @ g2  # (K, F) @ (N, F, P) -> (N, K, P)
    return col2im_reference(grad_cols, x.shape, *w.shape[2:], stride, overlap=overlap)


def _grad_w_reshaped_transpose(g, out, x, w):
    _, cols, g2 = _conv_parts(g, out, x, w)
    return (cols @ g2.transpose(0, 2, 1)).sum(axis=0).reshape(w.shape)  # (K, F) reshaped


def _grad_w_first_image(g, out, x, w):
    _, cols, g2 = _conv_parts(g, out, x, w)
    return (g2[0] @ cols[0].T).reshape(w.shape)


HINT_OVERLAP_DX = (
    "pixels covered by several windows got the gradient of one window only: forward's "
    "im2col copied such a pixel into each of those windows, so its dL/dx is the sum over "
    "all of them. col2im(W^T @ G) adds them; a loop of your own must add too (+=, not =; "
    "np.add.at with an index array)")

CONV2D = (
    Mistake(HINT_OVERLAP_DX,
            lambda g, out, x, w: (_grad_x(g, out, x, w, overlap="last window"), None)),
    Mistake(HINT_OVERLAP_DX,
            lambda g, out, x, w: (_grad_x(g, out, x, w, overlap="last offset"), None)),
    Mistake("your dL/dx uses the kernel flipped: forward is a cross-correlation (w[f, c, "
            "i, j] met x[n, c, oh*s + i, ow*s + j]), and col2im(W^T @ G) with W = "
            "w.reshape(F, -1) sends each gradient back through that same tap, unflipped",
            lambda g, out, x, w: (_grad_x(g, out, x, w, flip=True), None)),
    Mistake("your dL/dw is the right one with the kernel flipped (rotated by 180 "
            "degrees): w[f, c, i, j] met the pixel at offset (i, j) of each window, so "
            "dL/dw[f, c, i, j] is the sum of g times that same pixel, which is what "
            "(G @ cols^T) reshaped to (F, C, kh, kw) gives, unflipped",
            lambda g, out, x, w: (None, _grad_w(g, out, x, w)[..., ::-1, ::-1])),
    Mistake("your dL/dw is cols @ G^T reshaped to w's shape: that product is "
            "(C*kh*kw, F), the transpose of what w.reshape(F, -1) needs, and reshape "
            "does not transpose. Compute G @ cols^T, (F, C*kh*kw), then reshape",
            lambda g, out, x, w: (None, _grad_w_reshaped_transpose(g, out, x, w))),
    Mistake("your dL/dw uses the first image of the batch only: every image used the same "
            "w, so dL/dw adds G[n] @ cols[n]^T over all n (g @ cols.transpose(0, 2, 1), "
            "then .sum(axis=0))",
            lambda g, out, x, w: (None, _grad_w_first_image(g, out, x, w))),
    Mistake("your dL/dw is the mean over the batch, the right one divided by N: every "
            "image adds its whole G[n] @ cols[n]^T (a loss that averages over the batch "
            "has put its 1/N into grad_output already): sum over n, do not average",
            lambda g, out, x, w: (None, _grad_w(g, out, x, w) / x.shape[0])),
)


def train_a_cnn(module, path, seed):
    """A small CNN trained on digits twice from the same weights, with the student's
    Conv2d and with the library's conv2d: the losses must agree at every step (the
    gradients are the same), and fall (it learns)."""
    import tinygrad_edu as tg  # (the Tensor floors above the course's own modules)
    from tinygrad_edu.data import load_digits
    from tinygrad_edu.nn import functional as F

    images, labels = load_digits(as_images=True)
    x = tg.Tensor(images[:32, None].astype(np.float64) / 16)  # (32, 1, 8, 8)
    y = tg.Tensor(labels[:32])
    rng = np.random.default_rng(seed)
    start = [0.3 * rng.standard_normal((4, 1, 3, 3)), 0.1 * rng.standard_normal((144, 10))]

    def run(conv2d):
        w_conv, w_out = (tg.Tensor(a.copy(), requires_grad=True) for a in start)
        losses = []
        for _ in range(30):  # conv 3x3 -> relu -> linear -> cross-entropy, SGD lr 0.5
            loss = F.cross_entropy(conv2d(x, w_conv).relu().reshape(32, -1) @ w_out, y)
            w_conv.grad = w_out.grad = None
            loss.backward()
            for p in (w_conv, w_out):
                p.data -= 0.5 * p.grad.data
            losses.append(float(loss.data))
        return np.array(losses)

    library = run(F.conv2d)
    case = "30 SGD steps on 32 digits: losses as with tg's conv2d"
    rows = [attempt(case, path, lambda: compare(
        case, run(lambda x, w: module.Conv2d.apply(x, w)), library, rtol=1e-8, atol=1e-10,
        name="losses"))]
    if rows[0].passed:
        rows.append(Row(f"the loss fell from {library[0]:.3f} to {library[-1]:.3f}",
                        bool(library[-1] < 0.5 * library[0])))
    return rows


EXERCISES = [
    Exercise("im2col", "im2col",
             "each window a column; col2im adds them back",
             check=check_im2col),
    Exercise("conv2d", "conv2d",
             "conv backward: two matmuls and a col2im",
             mistakes=CONV2D, then=("a CNN trained with your Conv2d", train_a_cnn)),
]
