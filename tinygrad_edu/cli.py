"""The command line: `python -m tinygrad_edu COMMAND` (installed as `tinygrad-edu`)."""

from __future__ import annotations

import argparse
import inspect
import sys
from pathlib import Path

import numpy as np


def neuron() -> bool:
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
    return bool(report and report_np)


def _out_dir(path: str) -> Path:
    out = Path(path)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise SystemExit(f"tinygrad-edu: cannot create the output folder {path!r}: "
                         f"{error.strerror}") from None
    return out


def _plots_available() -> bool:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        print("  (matplotlib is not installed, so no plots: pip install 'tinygrad_edu[plot]')")
        return False
    return True


def _write_graph(model, X, y, out: Path) -> Path:
    """The graph of one small batch's loss, with its values and, after backward, its
    gradients: SVG when Graphviz's `dot` is installed, DOT text otherwise."""
    import tinygrad_edu as tg

    model.zero_grad()
    with tg.viz.trace():  # keep the intermediate values and gradients for the drawing
        loss = tg.nn.functional.cross_entropy(model(tg.Tensor(X[:4])), y[:4])
    loss.name = "loss"
    loss.backward()
    options = {"show_values": True, "show_grads": True, "rankdir": "TB"}
    try:
        path = tg.viz.render(loss, out / "graph.svg", **options)
    except RuntimeError:  # no Graphviz program: the text still says it all
        path = out / "graph.dot"
        path.write_text(tg.viz.to_dot(loss, **options))
        print("  (Graphviz's dot program is not installed: wrote the graph as DOT text)")
    model.zero_grad()
    return Path(path)


def demo(args: argparse.Namespace) -> int:
    """The main job: backprop through one neuron by hand, then two MLPs trained for real.

    1. The classic neuron o = tanh(x1*w1 + x2*w2 + b): forward, backward, gradcheck.
    2. An MLP on make_moons (two interleaving half circles).
    3. An MLP on the 8x8 handwritten digits, tested on a held-out fifth of them.

    Writes into --out: the loss curves, the moons decision boundary, the digits model's
    computation graph with its gradients and the digits model's checkpoint.
    """
    import tinygrad_edu as tg
    from tinygrad_edu.training import Config, Run

    out = _out_dir(args.out)
    progress = not args.no_progress
    print("== 1. One neuron, by hand and by backprop ==")
    ok = neuron()

    print("\n== 2. An MLP on two moons (2 -> 16 -> 16 -> 2, ReLU, Adam) ==")
    moons = Run(Config(dataset="moons", hidden=[16, 16], epochs=60, batch_size=32, lr=0.01,
                       seed=args.seed))
    moons.fit(moons.config.epochs, progress=progress, label="moons")
    moons_acc = moons.history["test accuracy"][-1]
    print(f"moons: test accuracy {moons_acc:.1%} on {len(moons.y_test)} held-out points")

    print("\n== 3. An MLP on handwritten digits (64 -> 64 -> 10, ReLU, Adam) ==")
    digits = Run(Config(dataset="digits", hidden=[64], epochs=40, batch_size=32, lr=0.003,
                        seed=args.seed))
    print(f"{len(digits.y_train)} training images, {len(digits.y_test)} held out; "
          f"{digits.model.num_parameters():,} parameters:")
    print(digits.model)
    digits.fit(digits.config.epochs, progress=progress, label="digits")
    digits_acc = digits.history["test accuracy"][-1]
    print(f"digits: test accuracy {digits_acc:.1%} on {len(digits.y_test)} held-out images")

    written = []
    if _plots_available():
        tg.viz.plot_loss(
            {"moons": moons.history["train loss"], "digits": digits.history["train loss"]},
            out / "loss_curve.png", title="Training loss (mean cross-entropy per epoch)",
            log_scale=True)
        written.append(out / "loss_curve.png")
        tg.viz.plot_decision_boundary(moons.model, moons.X_test, moons.y_test,
                                      out / "moons_decision_boundary.png",
                                      title=f"moons: test accuracy {moons_acc:.1%}")
        written.append(out / "moons_decision_boundary.png")
    written.append(_write_graph(digits.model, digits.X_test, digits.y_test, out))
    written.append(Path(digits.save(out / "digits_mlp.npz")))
    print("\nFiles written:")
    for path in written:
        print(f"  {path}")
    if digits_acc < 0.95:
        print(f"digits accuracy {digits_acc:.1%} is below the expected 95%", file=sys.stderr)
        return 1
    return 0 if ok else 1


def _hidden_sizes(text: str) -> list[int]:
    try:
        sizes = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a comma-separated list of layer sizes, such as 16,16") from None
    if any(n <= 0 for n in sizes):
        raise argparse.ArgumentTypeError(f"layer sizes must be positive, got {text!r}")
    return sizes


def _positive(kind):
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a {kind.__name__}") from None
        if value <= 0:
            raise argparse.ArgumentTypeError(f"must be positive, got {text}")
        return value
    return parse


def train(args: argparse.Namespace) -> int:
    """Train a classifier on a toy dataset or the digits, and save the results.

    --model mlp (the default) trains an MLP; --model cnn a small convolutional network on
    the 8x8 digits (3x3 convolutions, ReLU, 2x2 max-pooling, then one Linear layer).

    Writes into --out: checkpoint.npz (resume with --resume), loss_curve.png, and for 2-D
    datasets decision_boundary.png. The same --seed gives the same run, and a resumed run
    continues exactly as if it had never stopped.
    """
    import tinygrad_edu as tg
    from tinygrad_edu.training import Config, Run

    out = _out_dir(args.out)
    if args.resume:
        try:
            run = Run.resume(args.resume, **({"epochs": args.epochs} if args.epochs else {}))
        except (OSError, ValueError, KeyError) as error:
            print(f"tinygrad-edu train: cannot resume from {args.resume}: {error}",
                  file=sys.stderr)
            return 2
        print(f"Resuming {run.config.dataset} at epoch {run.epoch} of {run.config.epochs}")
    else:
        config = Config(dataset=args.dataset, model=args.model,
                        hidden=args.hidden or [16, 16], activation=args.activation,
                        optimizer=args.optimizer, lr=args.lr, epochs=args.epochs or 100,
                        batch_size=args.batch_size, seed=args.seed)
        try:
            run = Run(config)
        except ValueError as error:  # options that do not fit together (a CNN on points,
            # more convolutions than the image can be pooled for)
            print(f"tinygrad-edu train: {error}", file=sys.stderr)
            return 2
    config = run.config
    print(f"{config.dataset}: {len(run.y_train)} training samples, {len(run.y_test)} held out")
    print(run.model)
    print(f"{config.optimizer} lr={config.lr}, batch size {config.batch_size}, "
          f"{config.epochs} epochs, seed {config.seed}")
    run.fit(config.epochs, progress=not args.no_progress)
    if run.history["test accuracy"]:
        print(f"final: train loss {run.history['train loss'][-1]:.4f}, train accuracy "
              f"{run.history['train accuracy'][-1]:.1%}, test accuracy "
              f"{run.history['test accuracy'][-1]:.1%}")
    written = [Path(run.save(out / "checkpoint.npz"))]
    if run.history["train loss"] and _plots_available():
        tg.viz.plot_loss(run.history["train loss"], out / "loss_curve.png",
                         title=f"{config.dataset}: training loss")
        written.append(out / "loss_curve.png")
        if run.X_train.ndim == 2 and run.X_train.shape[1] == 2:
            tg.viz.plot_decision_boundary(run.model, run.X_test, run.y_test,
                                          out / "decision_boundary.png",
                                          title=f"{config.dataset}: test accuracy "
                                                f"{run.history['test accuracy'][-1]:.1%}")
            written.append(out / "decision_boundary.png")
    print("Files written:")
    for path in written:
        print(f"  {path}")
    return 0


def _graph_options() -> argparse.ArgumentParser:
    """The options of `graph`; they may come before the formula or among its variables."""
    options = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    options.add_argument("--out", default="graph.svg", metavar="PATH",
                         help="the file to write: .svg, .png or .pdf (drawn by Graphviz's "
                              "dot program), or .dot for the DOT text (default: graph.svg)")
    options.add_argument("--no-grads", action="store_true",
                         help="do not run backward: draw the values only")
    options.add_argument("--explain", action="store_true",
                         help="print the backward pass as a table, one step per row")
    return options


def _variable_values(tokens: list[str]) -> dict[str, np.ndarray]:
    """`--x1 2 --w -3 --v=1,2,3` -> {"x1": 2.0, "w": -3.0, "v": [1.0, 2.0, 3.0]}."""
    import keyword

    values: dict[str, np.ndarray] = {}
    i = 0
    while i < len(tokens):
        token = tokens[i]
        if not token.startswith("--") or token == "--":
            raise ValueError(f"expected a variable as --NAME VALUE, got {token!r}")
        name, has_value, text = token[2:].partition("=")
        if not has_value:  # --x 2: the value is the next word, even when it is -3
            if i + 1 == len(tokens):
                raise ValueError(f"--{name} needs a value, such as --{name} 2 or "
                                 f"--{name} 1,2,3")
            text = tokens[i + 1]
            i += 1
        i += 1
        if not name.isidentifier() or keyword.iskeyword(name):
            raise ValueError(f"--{name}: a variable's name is a Python identifier, such as x, "
                             "w1 or bias (letters, digits and _, not starting with a digit)")
        if name in values:
            raise ValueError(f"--{name} is given twice")
        try:
            numbers = [float(part) for part in text.split(",")]
        except ValueError:
            raise ValueError(f"--{name} {text}: a value is a number (2, -3, 0.5, 1e-3) or a "
                             "comma-separated list of numbers, a vector (1,2,3)") from None
        values[name] = np.array(numbers[0] if len(numbers) == 1 else numbers, dtype=np.float64)
    return values


def _numbers_text(array) -> str:
    """2.0 -> '2', [1., 0.5] -> '[1, 0.5]': six significant digits, long arrays summarized."""
    return np.array2string(np.asarray(array), separator=", ", threshold=20,
                           formatter={"float_kind": lambda v: f"{v:.6g}"})


def graph(args: argparse.Namespace) -> int:
    r"""Draw the computation graph of a formula, with every value and gradient.

    Give the formula in quotes, then each variable as --NAME VALUE, where VALUE is a
    number or a comma-separated list of numbers (a vector):

        tinygrad-edu graph "tanh(x1*w1 + x2*w2 + b)" \
            --x1 2 --w1 -3 --x2 0 --w2 1 --b 6.8813735870195432
        tinygrad-edu graph "sum(x * x)" --x 1,2,3 --out square.png --explain

    Prints the formula's value f and, after f.backward(), the gradient df/dNAME of every
    variable (when f is not a scalar, backward runs on L = sum(f)); then writes the graph
    (--out). The formula is read, never run as Python code: see
    tinygrad_edu/viz/expression.py for what it may contain. (A formula that starts with
    "-" needs a space in it, "-x * 2", or `--` before it.)
    """
    import tinygrad_edu as tg
    from tinygrad_edu.viz.expression import (
        FUNCTIONS,
        ExpressionError,
        parse_expression,
        variable_names,
    )

    def error(message) -> int:
        print(f"tinygrad-edu graph: {message}", file=sys.stderr)
        return 2

    if "-h" in args.variables or "--help" in args.variables:
        args.graph_parser.print_help()
        return 0
    # The options given after the formula were collected with the variables: take them
    # out (namespace=args keeps those given before the formula).
    args, pairs = _graph_options().parse_known_args(args.variables, namespace=args)
    out = Path(args.out)
    if out.suffix.lower() not in (".svg", ".png", ".pdf", ".dot"):
        return error(f"--out {args.out}: the file name must end in .svg, .png, .pdf or .dot")
    try:
        values = _variable_values(pairs)
        used = variable_names(args.expression)
    except ValueError as problem:  # (ExpressionError is a ValueError)
        return error(problem)
    for name in values:
        if name in FUNCTIONS:
            return error(f"--{name}: {name} is the name of a function; give the variable "
                         "another name")
    missing = [name for name in used if name not in values]
    if missing:
        return error(f"the formula uses {', '.join(missing)}, with no value given: add "
                     + " ".join(f"--{name} VALUE" for name in missing))
    for name in values:
        if name not in used:
            print(f"tinygrad-edu graph: warning: --{name} is not used by the formula",
                  file=sys.stderr)
    leaves = {name: tg.Tensor(values[name], dtype=np.float64, requires_grad=True, name=name)
              for name in used}

    # Inside trace() every op keeps its output and, after backward, its gradient, so the
    # graph shows them for the intermediate results too, not only for the leaves.
    with tg.viz.trace():
        try:
            f = parse_expression(args.expression, leaves)
        except ExpressionError as problem:
            return error(problem)
        if f.grad_fn is not None:  # (a formula that is just "x" is the leaf x itself)
            f.name = "f"
        shape = f" (shape {f.shape})" if f.ndim else ""
        print(f"f = {args.expression}\n  = {_numbers_text(f.data)}{shape}")

        # backward needs one number to start from: f itself, or L = sum(f)
        root, root_name = f, "f"
        wants_backward = not args.no_grads or args.explain
        if wants_backward and f.requires_grad and f.data.size != 1:
            root, root_name = f.sum(), "L"
            root.name = "L"
            print("f is not a scalar, so backward runs on L = sum(f): the gradients below "
                  "are dL/dNAME")
        table = None
        if args.explain and root.grad_fn is not None:
            table = tg.viz.explain_backward(root, show=False)  # before backward frees the graph
        if not args.no_grads and f.requires_grad:
            with np.errstate(all="ignore"):  # inf and nan are shown, not warned about
                root.backward()
            print("Gradients:")
            for name, leaf in leaves.items():
                grad = _numbers_text(leaf.grad.data) if leaf.grad is not None else "none"
                print(f"  d{root_name}/d{name} = {grad}")
        elif not f.requires_grad:
            print("(the formula uses no variables, so there is nothing to differentiate)")
        if table is not None:
            print("\nBackward, step by step:")
            print(table)
        elif args.explain:
            print("(--explain: no op computed f from a variable, so there is no backward pass "
                  "to explain)")

    options = {"show_values": True, "show_grads": not args.no_grads}
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        if out.suffix.lower() == ".dot":
            out.write_text(tg.viz.to_dot(root, **options))
        else:
            try:
                tg.viz.render(root, out, format=out.suffix.lower()[1:], **options)
            except RuntimeError:  # no Graphviz program: the DOT text still says it all
                out = out.with_suffix(".dot")
                out.write_text(tg.viz.to_dot(root, **options))
                print("(Graphviz's dot program is not installed, so the graph is written as "
                      "DOT text: install Graphviz, or paste the text into any DOT viewer)")
    except OSError as problem:
        return error(f"cannot write {out}: {problem.strerror or problem}")
    print(f"Wrote {out}")
    return 0


def gradcheck(args: argparse.Namespace) -> int:
    """Check the backward of an op you wrote, in a Python file, against finite differences.

    Name the file and, after ::, the op: a tg.Function subclass (checked through its
    apply) or a plain function of Tensors:

        tinygrad-edu gradcheck examples/exercises/sigmoid.py::Sigmoid
        tinygrad-edu gradcheck my_ops.py::MatMul --shapes 2x3,3x4 3x3,3x3

    Each case (random float64 inputs of given shapes) is checked by tg.gradcheck twice,
    with central differences and with np.gradient. The file may declare its cases as
    SHAPES = [((3,),), ((2, 3), (3,))], one tuple of input shapes per case, and
    INPUTS = make(rng, shapes) -> list of arrays for inputs with a domain (log needs
    x > 0); --shapes replaces SHAPES. Exit status: 0 when every check passes, 1 when one
    fails, 2 when the check cannot run (no such file or name, a file that raises).
    """
    from tinygrad_edu.grader import GraderError, run

    try:
        return run(args.target, shapes=args.shapes, seed=args.seed)
    except GraderError as problem:
        print(f"tinygrad-edu gradcheck: {problem}", file=sys.stderr)
        return 2


def _shapes_case(text: str) -> tuple:
    from tinygrad_edu.grader import parse_case

    try:
        return parse_case(text)
    except ValueError as problem:
        raise argparse.ArgumentTypeError(str(problem)) from None


def build_parser() -> argparse.ArgumentParser:
    from tinygrad_edu import __version__
    from tinygrad_edu.training import ACTIVATIONS, DATASETS, MODELS, OPTIMIZERS
    from tinygrad_edu.viz.expression import FUNCTIONS

    parser = argparse.ArgumentParser(
        prog="tinygrad-edu",
        description="tinygrad_edu: automatic differentiation over NumPy, built to be read.")
    parser.add_argument("--version", action="version", version=f"tinygrad_edu {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True

    def common(p):
        p.add_argument("--out", default="tinygrad_edu_out", metavar="DIR",
                       help="folder for the files written (default: ./tinygrad_edu_out)")
        p.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
        p.add_argument("--no-progress", action="store_true", help="no progress bars")

    p = commands.add_parser("demo", help="backprop through a neuron, then train two MLPs",
                            description=inspect.cleandoc(demo.__doc__),
                            formatter_class=argparse.RawDescriptionHelpFormatter)
    common(p)
    p.set_defaults(run=demo)

    p = commands.add_parser("train", help="train a classifier (an MLP or a CNN) and save it",
                            description=inspect.cleandoc(train.__doc__),
                            formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dataset", choices=DATASETS, default="moons",
                   help="toy 2-D sets (1,000 points) or the 8x8 digits (default: moons)")
    p.add_argument("--model", choices=MODELS, default="mlp",
                   help="mlp, or cnn: convolutions for the digits images (default: mlp)")
    p.add_argument("--hidden", type=_hidden_sizes, default=None, metavar="SIZES",
                   help="hidden layer sizes, comma-separated; for --model cnn the channels "
                        "of each convolution (default: 16,16)")
    p.add_argument("--activation", choices=sorted(ACTIVATIONS), default="relu",
                   help="between the hidden layers (default: relu)")
    p.add_argument("--optimizer", choices=sorted(OPTIMIZERS), default="adam",
                   help="with PyTorch's defaults apart from --lr (default: adam)")
    p.add_argument("--lr", type=_positive(float), default=0.01,
                   help="learning rate (default: 0.01)")
    p.add_argument("--epochs", type=_positive(int), default=None,
                   help="epochs in all (default: 100; with --resume, the checkpoint's)")
    p.add_argument("--batch-size", type=_positive(int), default=32,
                   help="samples per step (default: 32)")
    p.add_argument("--resume", metavar="CHECKPOINT",
                   help="continue the run saved in this checkpoint.npz (its options are used)")
    common(p)
    p.set_defaults(run=train)

    p = commands.add_parser(
        "graph", help="draw a formula's computation graph, with its gradients",
        description=inspect.cleandoc(graph.__doc__),
        epilog="functions a formula may call:\n" + "\n".join(
            f"  {name + '(' + ', '.join('xy'[:arity]) + ')':<16} {meaning}"
            for name, (arity, meaning, _) in FUNCTIONS.items()),
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=[_graph_options()], allow_abbrev=False)
    p.add_argument("expression", metavar="FORMULA",
                   help='such as "tanh(x1*w1 + x2*w2 + b)": numbers, variables, '
                        "+ - * / ** @, and the functions below")
    p.add_argument("variables", nargs=argparse.REMAINDER, metavar="--NAME VALUE",
                   help="the value of each variable: a number (-3, 0.5) or a vector (1,2,3)")
    p.set_defaults(run=graph, graph_parser=p)

    p = commands.add_parser(
        "gradcheck", help="check the backward of an op you wrote (FILE.py::NAME)",
        description=inspect.cleandoc(gradcheck.__doc__),
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("target", metavar="FILE.py::NAME",
                   help="the file and the tg.Function subclass (or function) in it")
    p.add_argument("--shapes", nargs="+", type=_shapes_case, metavar="CASE",
                   help="the cases to check instead of the file's SHAPES: each CASE is the "
                        "input shapes separated by commas, sizes by x, such as 3x4,4 "
                        "(and () for a scalar)")
    p.add_argument("--seed", type=int, default=0,
                   help="seed of the random inputs (default: 0)")
    p.set_defaults(run=gradcheck)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
