"""Write norm_torch_reference.npz: BatchNorm2d and LayerNorm computed by real PyTorch.

Run with a Python that has torch (it is not a test, and pytest does not collect it):

    python3 tests/data/make_norm_reference.py

Everything is float64. BatchNorm2d(3) with a non-trivial weight and bias takes three
training steps on three batches; each step's loss is sum(output * upstream), so the
input gradient is the vector-Jacobian product with `upstream`. Stored per step: the
input, the upstream gradient, the output and the input's gradient; after the three
steps, the buffers and the weight and bias gradients accumulated over the steps; then
the eval-mode output for a fourth batch. LayerNorm((3, 4)) gets one forward and backward.
"""

from pathlib import Path

import numpy as np
import torch

rng = np.random.default_rng(20260101)
out = {}

bn = torch.nn.BatchNorm2d(3).double()
with torch.no_grad():
    bn.weight.copy_(torch.tensor([1.5, -0.5, 2.0]))
    bn.bias.copy_(torch.tensor([0.1, 0.2, -0.3]))
out["bn_weight"] = bn.weight.detach().numpy().copy()
out["bn_bias"] = bn.bias.detach().numpy().copy()
bn.train()
for step in range(3):
    x = torch.tensor(rng.normal(1.0, 2.0, size=(4, 3, 2, 3)), requires_grad=True)
    upstream = torch.tensor(rng.normal(size=(4, 3, 2, 3)))
    y = bn(x)
    (y * upstream).sum().backward()
    out[f"bn_x{step}"] = x.detach().numpy()
    out[f"bn_upstream{step}"] = upstream.numpy()
    out[f"bn_y{step}"] = y.detach().numpy()
    out[f"bn_grad_x{step}"] = x.grad.numpy()
out["bn_grad_weight"] = bn.weight.grad.numpy()
out["bn_grad_bias"] = bn.bias.grad.numpy()
out["bn_running_mean"] = bn.running_mean.numpy()
out["bn_running_var"] = bn.running_var.numpy()
out["bn_num_batches_tracked"] = bn.num_batches_tracked.numpy()
bn.eval()
x = torch.tensor(rng.normal(1.0, 2.0, size=(2, 3, 2, 3)))
out["bn_eval_x"] = x.numpy()
out["bn_eval_y"] = bn(x).detach().numpy()

ln = torch.nn.LayerNorm((3, 4)).double()
with torch.no_grad():
    ln.weight.copy_(torch.tensor(rng.normal(1.0, 0.5, size=(3, 4))))
    ln.bias.copy_(torch.tensor(rng.normal(0.0, 0.5, size=(3, 4))))
x = torch.tensor(rng.normal(-1.0, 3.0, size=(2, 3, 4)), requires_grad=True)
upstream = torch.tensor(rng.normal(size=(2, 3, 4)))
y = ln(x)
(y * upstream).sum().backward()
out.update(ln_weight=ln.weight.detach().numpy(), ln_bias=ln.bias.detach().numpy(),
           ln_x=x.detach().numpy(), ln_upstream=upstream.numpy(), ln_y=y.detach().numpy(),
           ln_grad_x=x.grad.numpy(), ln_grad_weight=ln.weight.grad.numpy(),
           ln_grad_bias=ln.bias.grad.numpy())

path = Path(__file__).with_name("norm_torch_reference.npz")
np.savez_compressed(path, **out)
print(f"torch {torch.__version__}: wrote {path}")
