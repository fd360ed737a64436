"""Fit y = sin(x) with a third-degree polynomial, five ways, as "Learning PyTorch with Examples".

This is the tutorial's code in PyTorch's own dialect: only the import line at the top
differs from a file that runs with PyTorch. The same polynomial is fitted

    (a) with tensors and gradients written by hand,
    (b) with autograd,
    (c) with a custom autograd Function (a Legendre polynomial of degree 3),
    (d) with torch.nn, first stepping by hand, then with torch.optim.RMSprop,
    (e) with a custom nn.Module and torch.optim.SGD.

The tutorial runs 2000 steps; 300 are enough to watch the loss fall. Each line
`RESULT name value` is a number that the tests compare with PyTorch's run of this file.

Run: python examples/pytorch_polynomial_fit.py
"""

import math

import numpy as np

import tinygrad_edu as torch


def result(name, value):
    """Print one number in a form the tests read (and compare with PyTorch's run)."""
    print(f"RESULT {name} {value!r}")


# Random initial weights come from a seeded NumPy generator rather than torch.randn: the
# two frameworks' random streams differ, and with the same start both give the same fit.
rng = np.random.default_rng(0)

dtype = torch.float64
device = torch.device("cpu")
torch.set_default_dtype(torch.float64)  # so that nn.Linear and nn.Parameter are float64 too
steps = 300

# Create random input and output data
x = torch.linspace(-math.pi, math.pi, 2000, device=device, dtype=dtype)
y = torch.sin(x)

# --- (a) Tensors: the forward and the backward pass written by hand -------------------
print("(a) tensors, gradients by hand")
a = torch.tensor(rng.standard_normal(), device=device, dtype=dtype)
b = torch.tensor(rng.standard_normal(), device=device, dtype=dtype)
c = torch.tensor(rng.standard_normal(), device=device, dtype=dtype)
d = torch.tensor(rng.standard_normal(), device=device, dtype=dtype)

learning_rate = 1e-6
for t in range(steps):
    # Forward pass: compute predicted y
    y_pred = a + b * x + c * x ** 2 + d * x ** 3

    # Compute and print loss
    loss = (y_pred - y).pow(2).sum().item()
    if t % 100 == 99:
        print(t, loss)

    # Backprop to compute gradients of a, b, c, d with respect to loss
    grad_y_pred = 2.0 * (y_pred - y)
    grad_a = grad_y_pred.sum()
    grad_b = (grad_y_pred * x).sum()
    grad_c = (grad_y_pred * x ** 2).sum()
    grad_d = (grad_y_pred * x ** 3).sum()

    # Update weights using gradient descent
    a -= learning_rate * grad_a
    b -= learning_rate * grad_b
    c -= learning_rate * grad_c
    d -= learning_rate * grad_d

print(f'Result: y = {a.item()} + {b.item()} x + {c.item()} x^2 + {d.item()} x^3')
result("tensors_loss", loss)
for name, coefficient in zip("abcd", (a, b, c, d)):
    result(f"tensors_{name}", coefficient.item())

# --- (b) Autograd: the backward pass computed for us ----------------------------------
print("(b) autograd")
a = torch.tensor(rng.standard_normal(), device=device, dtype=dtype, requires_grad=True)
b = torch.tensor(rng.standard_normal(), device=device, dtype=dtype, requires_grad=True)
c = torch.tensor(rng.standard_normal(), device=device, dtype=dtype, requires_grad=True)
d = torch.tensor(rng.standard_normal(), device=device, dtype=dtype, requires_grad=True)

learning_rate = 1e-6
for t in range(steps):
    # Forward pass: compute predicted y using operations on Tensors.
    y_pred = a + b * x + c * x ** 2 + d * x ** 3

    # Compute and print loss using operations on Tensors.
    # Now loss is a Tensor of shape (); loss.item() gets the scalar value held in the loss.
    loss = (y_pred - y).pow(2).sum()
    if t % 100 == 99:
        print(t, loss.item())

    # Use autograd to compute the backward pass: a.grad, b.grad, c.grad and d.grad are
    # then Tensors holding the gradient of the loss with respect to a, b, c, d.
    loss.backward()

    # Manually update weights using gradient descent. Wrap in torch.no_grad()
    # because weights have requires_grad=True, but we don't need to track this in autograd.
    with torch.no_grad():
        a -= learning_rate * a.grad
        b -= learning_rate * b.grad
        c -= learning_rate * c.grad
        d -= learning_rate * d.grad

        # Manually zero the gradients after updating weights
        a.grad = None
        b.grad = None
        c.grad = None
        d.grad = None

print(f'Result: y = {a.item()} + {b.item()} x + {c.item()} x^2 + {d.item()} x^3')
result("autograd_loss", loss.item())
for name, coefficient in zip("abcd", (a, b, c, d)):
    result(f"autograd_{name}", coefficient.item())


# --- (c) A new autograd Function: y = a + b * P3(c + d * x) ---------------------------
print("(c) custom autograd Function")


class LegendrePolynomial3(torch.autograd.Function):
    """
    We can implement our own custom autograd Functions by subclassing
    torch.autograd.Function and implementing the forward and backward passes
    which operate on Tensors.
    """

    @staticmethod
    def forward(ctx, input):
        """
        In the forward pass we receive a Tensor containing the input and return
        a Tensor containing the output. ctx is a context object that can be used
        to stash information for backward computation. You can cache tensors for
        use in the backward pass using the ctx.save_for_backward method.
        """
        ctx.save_for_backward(input)
        return 0.5 * (5 * input ** 3 - 3 * input)

    @staticmethod
    def backward(ctx, grad_output):
        """
        In the backward pass we receive a Tensor containing the gradient of the loss
        with respect to the output, and we need to compute the gradient of the loss
        with respect to the input.
        """
        input, = ctx.saved_tensors
        return grad_output * 1.5 * (5 * input ** 2 - 1)


# For this example we need 4 weights: y = a + b * P3(c + d * x); these weights need to be
# initialized not too far from the correct result to ensure convergence.
a = torch.full((), 0.0, device=device, dtype=dtype, requires_grad=True)
b = torch.full((), -1.0, device=device, dtype=dtype, requires_grad=True)
c = torch.full((), 0.0, device=device, dtype=dtype, requires_grad=True)
d = torch.full((), 0.3, device=device, dtype=dtype, requires_grad=True)

learning_rate = 5e-6
for t in range(steps):
    # To apply our Function, we use Function.apply method. We alias this as 'P3'.
    P3 = LegendrePolynomial3.apply

    # Forward pass: compute predicted y using operations; we compute
    # P3 using our custom autograd operation.
    y_pred = a + b * P3(c + d * x)

    # Compute and print loss
    loss = (y_pred - y).pow(2).sum()
    if t % 100 == 99:
        print(t, loss.item())

    # Use autograd to compute the backward pass.
    loss.backward()

    # Update weights using gradient descent
    with torch.no_grad():
        a -= learning_rate * a.grad
        b -= learning_rate * b.grad
        c -= learning_rate * c.grad
        d -= learning_rate * d.grad

        # Manually zero the gradients after updating weights
        a.grad = None
        b.grad = None
        c.grad = None
        d.grad = None

print(f'Result: y = {a.item()} + {b.item()} * P3({c.item()} + {d.item()} x)')
result("function_loss", loss.item())
for name, coefficient in zip("abcd", (a, b, c, d)):
    result(f"function_{name}", coefficient.item())

# --- (d) nn: the model as layers, then an optimizer -----------------------------------
print("(d) nn, stepping by hand")

# For this example, the output y is a linear function of (x, x^2, x^3), so
# we can consider it as a linear layer neural network. Let's prepare the
# tensor (x, x^2, x^3).
p = torch.tensor([1, 2, 3])
xx = x.unsqueeze(-1).pow(p)

# In the above code, x.unsqueeze(-1) has shape (2000, 1), and p has shape
# (3,), for this case, broadcasting semantics will apply to obtain a tensor
# of shape (2000, 3)

# Use the nn package to define our model as a sequence of layers. The Linear Module
# computes output from input using a linear function, and holds internal Tensors for its
# weight and bias. The Flatten layer flattens the output of the linear layer to a 1D
# tensor, to match the shape of `y`.
model = torch.nn.Sequential(
    torch.nn.Linear(3, 1),
    torch.nn.Flatten(0, 1)
)
# The same start as PyTorch's run, as above, drawn as nn.Linear draws its initial weights:
# uniformly from (-1/sqrt(in_features), 1/sqrt(in_features)).
bound = 1 / math.sqrt(3)
with torch.no_grad():
    model[0].weight.copy_(torch.from_numpy(rng.uniform(-bound, bound, (1, 3))))
    model[0].bias.copy_(torch.from_numpy(rng.uniform(-bound, bound, 1)))

# The nn package also contains definitions of popular loss functions; in this
# case we will use Mean Squared Error (MSE) as our loss function.
loss_fn = torch.nn.MSELoss(reduction='sum')

learning_rate = 1e-6
for t in range(steps):
    # Forward pass: compute predicted y by passing x to the model.
    y_pred = model(xx)

    # Compute and print loss.
    loss = loss_fn(y_pred, y)
    if t % 100 == 99:
        print(t, loss.item())

    # Zero the gradients before running the backward pass.
    model.zero_grad()

    # Backward pass: compute gradient of the loss with respect to all the learnable
    # parameters of the model.
    loss.backward()

    # Update the weights using gradient descent. Each parameter is a Tensor, so
    # we can access its gradients like we did before.
    with torch.no_grad():
        for param in model.parameters():
            param -= learning_rate * param.grad

# You can access the first layer of `model` like accessing the first item of a list
linear_layer = model[0]

# For linear layer, its parameters are stored as `weight` and `bias`.
print(f'Result: y = {linear_layer.bias.item()} + {linear_layer.weight[:, 0].item()} x + '
      f'{linear_layer.weight[:, 1].item()} x^2 + {linear_layer.weight[:, 2].item()} x^3')
result("nn_loss", loss.item())
result("nn_a", linear_layer.bias.item())
for i, name in enumerate("bcd"):
    result(f"nn_{name}", linear_layer.weight[:, i].item())

print("(d) nn with torch.optim.RMSprop")
model = torch.nn.Sequential(
    torch.nn.Linear(3, 1),
    torch.nn.Flatten(0, 1)
)
with torch.no_grad():
    model[0].weight.copy_(torch.from_numpy(rng.uniform(-bound, bound, (1, 3))))
    model[0].bias.copy_(torch.from_numpy(rng.uniform(-bound, bound, 1)))
loss_fn = torch.nn.MSELoss(reduction='sum')

# Use the optim package to define an Optimizer that will update the weights of
# the model for us. Here we will use RMSprop; the optim package contains many other
# optimization algorithms. The first argument to the RMSprop constructor tells the
# optimizer which Tensors it should update. (The tutorial's learning rate, 1e-3, needs
# its 2000 steps; 1e-2 gets as far in 300.)
learning_rate = 1e-2
optimizer = torch.optim.RMSprop(model.parameters(), lr=learning_rate)
for t in range(steps):
    # Forward pass: compute predicted y by passing x to the model.
    y_pred = model(xx)

    # Compute and print loss.
    loss = loss_fn(y_pred, y)
    if t % 100 == 99:
        print(t, loss.item())

    # Before the backward pass, use the optimizer object to zero all of the
    # gradients for the variables it will update (which are the learnable
    # weights of the model).
    optimizer.zero_grad()

    # Backward pass: compute gradient of the loss with respect to model parameters
    loss.backward()

    # Calling the step function on an Optimizer makes an update to its parameters
    optimizer.step()

linear_layer = model[0]
print(f'Result: y = {linear_layer.bias.item()} + {linear_layer.weight[:, 0].item()} x + '
      f'{linear_layer.weight[:, 1].item()} x^2 + {linear_layer.weight[:, 2].item()} x^3')
result("optim_loss", loss.item())
result("optim_a", linear_layer.bias.item())
for i, name in enumerate("bcd"):
    result(f"optim_{name}", linear_layer.weight[:, i].item())


# --- (e) A custom nn.Module -----------------------------------------------------------
print("(e) custom nn.Module with torch.optim.SGD")


class Polynomial3(torch.nn.Module):
    def __init__(self):
        """
        In the constructor we instantiate four parameters and assign them as
        member parameters.
        """
        super().__init__()
        self.a = torch.nn.Parameter(torch.tensor(rng.standard_normal()))
        self.b = torch.nn.Parameter(torch.tensor(rng.standard_normal()))
        self.c = torch.nn.Parameter(torch.tensor(rng.standard_normal()))
        self.d = torch.nn.Parameter(torch.tensor(rng.standard_normal()))

    def forward(self, x):
        """
        In the forward function we accept a Tensor of input data and we must return
        a Tensor of output data. We can use Modules defined in the constructor as
        well as arbitrary operators on Tensors.
        """
        return self.a + self.b * x + self.c * x ** 2 + self.d * x ** 3

    def string(self):
        """
        Just like any class in Python, you can also define custom method on PyTorch modules
        """
        return (f'y = {self.a.item()} + {self.b.item()} x + {self.c.item()} x^2 '
                f'+ {self.d.item()} x^3')


# Construct our model by instantiating the class defined above
model = Polynomial3()

# Construct our loss function and an Optimizer. The call to model.parameters()
# in the SGD constructor will contain the learnable parameters (defined
# with torch.nn.Parameter) which are members of the model.
criterion = torch.nn.MSELoss(reduction='sum')
optimizer = torch.optim.SGD(model.parameters(), lr=1e-6)
for t in range(steps):
    # Forward pass: Compute predicted y by passing x to the model
    y_pred = model(x)

    # Compute and print loss
    loss = criterion(y_pred, y)
    if t % 100 == 99:
        print(t, loss.item())

    # Zero gradients, perform a backward pass, and update the weights.
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()

print(f'Result: {model.string()}')
print(model)
result("module_loss", loss.item())
result("module_parameters", len(list(model.parameters())))
for name, parameter in model.named_parameters():
    result(f"module_{name}", parameter.item())
    assert parameter.dtype == torch.float64
