"""The command line: `python -m tinygrad_edu COMMAND` (installed as `tinygrad-edu`)."""

from __future__ import annotations

import argparse
import sys

import numpy as np


def demo(args: argparse.Namespace) -> int:
    """The classic neuron o = tanh(x1*w1 + x2*w2 + b): forward, backward, gradcheck."""
    import tinygrad_edu as tg

    values = {"x1": 2.0, "w1": -3.0, "x2": 0.0, "w2": 1.0, "b": 6.8813735870195432}
    leaves = {k: tg.Tensor(v, requires_grad=True, dtype=np.float64, name=k)
              for k, v in values.items()}
    x1, w1, x2, w2, b = (leaves[k] for k in ("x1", "w1", "x2", "w2", "b"))

    def neuron(x1, w1, x2, w2, b):
        return (x1 * w1 + x2 * w2 + b).tanh()

    o = neuron(x1, w1, x2, w2, b)
    print("The classic neuron:  o = tanh(x1*w1 + x2*w2 + b)")
    print("  " + ", ".join(f"{k} = {v:g}" for k, v in values.items()))
    print(f"  forward:  o = {o.item():.6f}")
    o.backward()
    print("  backward: do/dv for each input v, by the chain rule through the graph:")
    local = 1 - o.item() ** 2  # d tanh(n)/dn = 1 - tanh(n)^2 = 1 - o^2
    by_hand = {"x1": ("w1", w1), "w1": ("x1", x1), "x2": ("w2", w2), "w2": ("x2", x2),
               "b": ("1", None)}
    for name, leaf in leaves.items():
        factor, tensor = by_hand[name]
        expected = local * (tensor.item() if tensor is not None else 1.0)
        print(f"    do/d{name:<2} = {leaf.grad.item():+.6f}   "
              f"by hand: (1 - o^2) * {factor:<2} = {expected:+.6f}")
    report = tg.gradcheck(neuron, list(leaves.values()))
    print(report)
    report_np = tg.gradcheck(neuron, list(leaves.values()), method="np.gradient")
    print(report_np)
    return 0 if report and report_np else 1


def build_parser() -> argparse.ArgumentParser:
    from tinygrad_edu import __version__

    parser = argparse.ArgumentParser(
        prog="tinygrad-edu",
        description="tinygrad_edu: automatic differentiation over NumPy, built to be read.")
    parser.add_argument("--version", action="version", version=f"tinygrad_edu {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True
    p = commands.add_parser("demo", help="forward, backward and gradient check of a neuron",
                            description=demo.__doc__)
    p.set_defaults(run=demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
