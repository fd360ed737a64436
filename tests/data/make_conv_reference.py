"""Write conv_torch_reference.npz: a convolution and a max pooling computed by PyTorch.

Not a test (pytest collects test_*.py only): run it once, with PyTorch installed, from
the repository root::

    python3 tests/data/make_conv_reference.py

The file holds, in float64, an input, a weight and a bias, the conv2d options, PyTorch's
output and its gradients for the loss sum(y^2); and a max pooling with overlapping
windows and ties (small integers), its output and the input's gradient for sum(y^2).
tests/test_conv.py compares tinygrad_edu against it.
"""

from __future__ import annotations

import os

import numpy as np
import torch

STRIDE, PADDING, DILATION = (2, 1), (1, 0), (1, 2)
POOL_KERNEL, POOL_STRIDE, POOL_PADDING = 3, 2, 1


def main() -> None:
    rng = np.random.default_rng(2024)
    x = rng.standard_normal((2, 3, 7, 8))
    w = rng.standard_normal((4, 3, 3, 2))
    b = rng.standard_normal(4)
    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    y = torch.nn.functional.conv2d(tx, tw, tb, stride=STRIDE, padding=PADDING,
                                   dilation=DILATION)
    (y ** 2).sum().backward()

    p = rng.integers(0, 3, (2, 2, 7, 6)).astype(np.float64)  # small integers: many ties
    tp = torch.tensor(p, requires_grad=True)
    q = torch.nn.functional.max_pool2d(tp, POOL_KERNEL, POOL_STRIDE, POOL_PADDING)
    (q ** 2).sum().backward()

    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "conv_torch_reference.npz")
    np.savez_compressed(
        path, x=x, weight=w, bias=b, stride=STRIDE, padding=PADDING, dilation=DILATION,
        out=y.detach().numpy(), grad_x=tx.grad.numpy(), grad_weight=tw.grad.numpy(),
        grad_bias=tb.grad.numpy(),
        pool_x=p, pool_options=(POOL_KERNEL, POOL_STRIDE, POOL_PADDING),
        pool_out=q.detach().numpy(), pool_grad_x=tp.grad.numpy(),
        torch_version=torch.__version__)
    print(f"wrote {path} ({os.path.getsize(path)} bytes)")


if __name__ == "__main__":
    main()
