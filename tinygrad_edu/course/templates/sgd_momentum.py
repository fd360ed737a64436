"""Exercise: one step of SGD with momentum.

Gradient descent steps against the gradient: p = p - lr * grad. In a long narrow
valley the gradient points mostly across it, so the steps zigzag from wall to wall and
creep along the floor. Momentum keeps a velocity v, and steps with it:

    v = momentum * v + grad        (v starts at 0: the first v is the gradient itself)
    p = p - lr * v

Unrolled, the velocity is a running sum of the past gradients, the older ones weighed
less:

    v_t = g_t + momentum g_(t-1) + momentum^2 g_(t-2) + ...

Where the gradients keep their sign (along the valley's floor) they add up, up to
1 / (1 - momentum) times one gradient (10 times for momentum = 0.9); where they flip
sign from step to step (across the valley) they cancel out. momentum = 0 is plain
gradient descent.

This is PyTorch's convention (torch.optim.SGD, and tg.optim.SGD). Another one, common in
papers and lecture notes, puts the learning rate inside the velocity:

    v = momentum * v + lr * grad        p = p - v

Its v is lr times this one, and the steps are the same as long as lr stays constant.
They differ when lr changes (a schedule): here a new lr scales the whole velocity at
once; there it only scales the gradients that come after. Either passes this check,
which keeps lr constant and compares only the parameters.

What to write: sgd_momentum_step(param, grad, velocity, lr, momentum) for one parameter.
param, grad and velocity are NumPy arrays of the parameter's shape (velocity is zeros
at the first step); lr and momentum are floats. Return (new_param, new_velocity): the
check gives your new_velocity back at the next step.

The check runs tg.optim.SGD(params, lr, momentum=momentum) for 20 steps on small
problems, gives your function the same gradients, and compares your parameters with its
after every step (to 1e-10, relative). Write it, then check it (in your course folder):

    tinygrad-edu exercises check sgd_momentum
"""


def sgd_momentum_step(param, grad, velocity, lr, momentum):
    """One step: the velocity gathers the gradient, the parameter moves against it."""
    raise NotImplementedError(
        "sgd_momentum_step: write it: update the velocity first (momentum * velocity + "
        "grad), step the parameter with the new one, and return both")
