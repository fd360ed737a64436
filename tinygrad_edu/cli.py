"""The command line: `python -m tinygrad_edu COMMAND` (installed as `tinygrad-edu`)."""

from __future__ import annotations

import argparse
import errno
import inspect
import math
import os
import shlex
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np


class CommandError(Exception):
    """What the command was asked to do cannot be done: `main` prints the message (which says
    what to do instead) after "tinygrad-edu COMMAND:" and exits with status 2."""


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


def _out_dir(path: str, names: tuple[str, ...]) -> Path:
    """The output folder, made if need be and checked to be writable before any work
    starts, so that a long training run does not fail at the end, when it saves."""
    fix = "choose another folder with --out DIR"
    if not path:  # (an unset variable in a script: --out "$OUT"), not this folder
        raise CommandError("--out needs a folder, such as --out tinygrad_edu_out (--out . "
                           "for this one)")
    out = Path(path)
    if out.exists() and not out.is_dir():
        raise CommandError(f"--out {path}: {str(out)!r} is a file, not a folder: {fix}")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise CommandError(f"cannot create the output folder {path!r} "
                           f"({error.strerror or error}): {fix}") from None
    try:
        with tempfile.TemporaryFile(dir=out):  # the real test: os.access can be wrong
            pass
    except OSError as error:
        if error.errno in (errno.EACCES, errno.EPERM):
            fix += f", or make this one writable (chmod u+w {shlex.quote(path)})"
        raise CommandError(f"cannot write into the output folder {path!r} "
                           f"({error.strerror or error}): {fix}") from None
    for name in names:  # the files the command will write there
        if (out / name).is_dir():
            raise CommandError(f"cannot write {out / name}: it is a folder; remove or rename "
                               f"it, or {fix}")
    return out


def _plots_available() -> bool:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        print("  (matplotlib is not installed, so no plots: pip install 'tinygrad_edu[plot]')")
        return False
    return True


def _write_graph(model, X, y, out: Path) -> list[Path]:
    """The graph of one small batch's loss, with its values and, after backward, its
    gradients: SVG when Graphviz's `dot` is installed, DOT text otherwise; and beside it
    backward.html, the page that steps through that backward pass."""
    import tinygrad_edu as tg

    model.zero_grad()
    with tg.viz.trace():  # keep the intermediate values and gradients for the drawing
        loss = tg.nn.functional.cross_entropy(model(tg.Tensor(X[:4])), y[:4])
    loss.name = "loss"
    written = []
    try:
        written.append(Path(tg.viz.explore(loss).save(out / "backward.html")))
    except RuntimeError:  # no Graphviz program: the page draws with it
        print("  (Graphviz's dot program is not installed: no backward.html)")
    loss.backward()
    options = {"show_values": True, "show_grads": True, "rankdir": "TB"}
    try:
        path = tg.viz.render(loss, out / "graph.svg", **options)
    except RuntimeError:  # no Graphviz program: the text still says it all
        path = out / "graph.dot"
        path.write_text(tg.viz.to_dot(loss, **options))
        print("  (Graphviz's dot program is not installed: wrote the graph as DOT text)")
    model.zero_grad()
    return [Path(path)] + written


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

    out = _out_dir(args.out, ("loss_curve.png", "moons_decision_boundary.png", "graph.svg",
                              "graph.dot", "digits_mlp.npz"))
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
    written += _write_graph(digits.model, digits.X_test, digits.y_test, out)
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
    if not sizes:
        raise argparse.ArgumentTypeError(f"{text!r} gives no layer size: give at least one, "
                                         "such as 16 or 16,16")
    if any(n <= 0 for n in sizes):
        raise argparse.ArgumentTypeError(f"layer sizes must be positive, got {text!r}")
    return sizes


def _number(kind, text: str):
    """`text` as an int or a finite float, or the usage error that says which it must be."""
    what = "a whole number (an int)" if kind is int else "a number (a float)"
    try:
        value = kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not {what}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
    return value


def _positive(kind):
    def parse(text: str):
        value = _number(kind, text)
        if value <= 0:
            raise argparse.ArgumentTypeError(f"must be positive, got {text}")
        return value
    return parse


def _seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:  # (argparse's own words for a bad int, so that they read alike)
        raise argparse.ArgumentTypeError(f"invalid int value: {text!r}: a seed is a whole "
                                         "number, 0 or more") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"a seed is 0 or more (NumPy's generators take no "
                                         f"negative seed), got {text}")
    return value


def _seconds(text: str) -> float:
    value = _number(float, text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"a time limit is 0 (no limit) or more seconds, "
                                         f"got {text}")
    return value


# What `train` takes from the command line into its Config; with --resume they must agree
# with the checkpoint's (only --epochs, the total to reach, may change).
_CONFIG_OPTIONS = ("dataset", "model", "hidden", "activation", "optimizer", "lr",
                   "batch_size", "seed")


def _option(name: str, value) -> str:
    """("batch_size", 32) -> "--batch-size 32", ("hidden", [16, 8]) -> "--hidden 16,8"."""
    if isinstance(value, list):
        value = ",".join(map(str, value))
    return f"--{name.replace('_', '-')} {value}"


def _new_run(args: argparse.Namespace):
    from tinygrad_edu.training import Config, Run

    given = {name: getattr(args, name) for name in _CONFIG_OPTIONS
             if getattr(args, name) is not None}
    if args.epochs is not None:
        given["epochs"] = args.epochs
    try:
        return Run(Config(**given))  # Config's defaults for what is not given
    except ValueError as error:  # options that do not fit together (a CNN on points,
        # more convolutions than the image can be pooled for)
        raise CommandError(error) from None


def _resumed_run(args: argparse.Namespace):
    """The run saved in --resume, after checking that the options given agree with it."""
    from tinygrad_edu.training import Run, read_checkpoint

    path = args.resume
    if not path:
        raise CommandError("--resume needs the checkpoint to continue, such as "
                           "--resume tinygrad_edu_out/checkpoint.npz")
    try:
        checkpoint = read_checkpoint(path)
    except OSError as error:
        raise CommandError(f"cannot resume from {path}: {error.strerror or error}") from None
    except ValueError as error:  # (a damaged file: tg.load's CheckpointError)
        raise CommandError(f"cannot resume from {path}: {error}") from None
    saved = checkpoint["config"]
    conflicts = [f"{_option(name, getattr(args, name))} (it has {_option(name, saved[name])})"
                 for name in _CONFIG_OPTIONS
                 if getattr(args, name) is not None and name in saved
                 and getattr(args, name) != saved[name]]
    if conflicts:
        raise CommandError(
            f"cannot resume from {path} with other options than it was trained with: "
            f"{'; '.join(conflicts)}. A resumed run continues exactly as it started (only "
            "--epochs, the total to reach, may change): leave these options out, or start "
            "a new run without --resume")
    done = checkpoint["epoch"]
    if args.epochs is not None and args.epochs < done:
        raise CommandError(
            f"--epochs {args.epochs}: {path} has already trained {done} epochs. --epochs is "
            f"the total to reach, so give more than {done} (--epochs {done + 10} trains 10 "
            f"more), or leave it out to train to the checkpoint's total, "
            f"{saved.get('epochs')}")
    changes = {"epochs": args.epochs} if args.epochs is not None else {}
    try:
        return Run.from_checkpoint(checkpoint, **changes)
    except (ValueError, KeyError, TypeError) as error:  # (KeyError: str() would quote it)
        text = error.args[0] if isinstance(error, KeyError) and error.args else error
        raise CommandError(f"cannot resume from {path}: the run it describes cannot be "
                           f"rebuilt: {text}") from None


def _save_interrupted(run, out: Path) -> int:
    """Ctrl-C: save the last whole epoch, say where and how to go on, exit with 130."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not cut the save
    if run is None or run.finished is None:
        print("tinygrad-edu train: interrupted (Ctrl-C) before an epoch finished: nothing "
              "was saved", file=sys.stderr)
        return 130
    try:
        path = run.save(out / "checkpoint.npz", run.finished)
    except OSError as error:
        print(f"tinygrad-edu train: interrupted (Ctrl-C), and the last finished epoch could "
              f"not be saved to {out / 'checkpoint.npz'}: {error.strerror or error}",
              file=sys.stderr)
        return 130
    done, total = run.finished["epoch"], run.finished["config"]["epochs"]
    print(f"tinygrad-edu train: interrupted (Ctrl-C): saved epoch {done} of {total} to "
          f"{path}; go on with: tinygrad-edu train --resume {shlex.quote(path)} --out "
          f"{shlex.quote(str(out))}", file=sys.stderr)
    return 130


def train(args: argparse.Namespace) -> int:
    """Train a classifier on a toy dataset or the digits, and save the results.

    --model mlp (the default) trains an MLP; --model cnn a small convolutional network on
    the 8x8 digits (3x3 convolutions, ReLU, 2x2 max-pooling, then one Linear layer).

    Writes into --out: checkpoint.npz (resume with --resume), loss_curve.png, and for 2-D
    datasets decision_boundary.png. The same --seed gives the same run, and a resumed run
    continues exactly as if it had never stopped: it keeps the options it was saved with
    (giving a different one is an error), except --epochs, the total to reach.

    Ctrl-C saves the last finished epoch as checkpoint.npz in --out, ready to resume.
    """
    import tinygrad_edu as tg

    out = _out_dir(args.out, ("checkpoint.npz", "loss_curve.png", "decision_boundary.png"))
    run = None
    try:
        if args.resume is not None:
            run = _resumed_run(args)
            print(f"Resuming {run.config.dataset} at epoch {run.epoch} of {run.config.epochs}")
        else:
            run = _new_run(args)
        config = run.config
        print(f"{config.dataset}: {len(run.y_train)} training samples, "
              f"{len(run.y_test)} held out")
        print(run.model)
        print(f"{config.optimizer} lr={config.lr}, batch size {config.batch_size}, "
              f"{config.epochs} epochs, seed {config.seed}")
        run.fit(config.epochs, progress=not args.no_progress)
    except KeyboardInterrupt:
        return _save_interrupted(run, out)
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
                         help="do not run backward: draw the values only (with "
                              "--explain, the table shows the local derivatives only)")
    options.add_argument("--explain", action="store_true",
                         help="print the backward pass as a table, one step per row")
    options.add_argument("--html", metavar="PATH",
                         help="also write the graph as a page that steps through backward "
                              "(open it in a browser), e.g. --html backward.html")
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


def _local_derivatives(table) -> str:
    """explain_backward's table without its gradient columns (upstream, contribution,
    gathered) and leaf gradients: what --no-grads leaves is each step's local derivative."""
    columns = ("step", "result", "input", "local derivative")
    rows = [columns] + [(str(row["step"]), f"{row['result']} ({row['op']})", row["input"],
                         row["local"].replace("\n", " ")) for row in table.rows]
    widths = [max(len(row[i]) for row in rows) for i in range(len(columns))]
    lines = ["Forward (each result named for the table):"]
    lines += ["  " + line for line in table.forward_lines]
    lines += ["", "Newest op first: the derivative of each op's result with respect to each "
              "of its inputs."]
    for k, row in enumerate(rows):
        lines.append("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip())
        if k == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


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
    if args.html is not None and Path(args.html).suffix.lower() not in (".html", ".htm"):
        return error(f"--html {args.html}: the file name must end in .html")
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
        if not args.no_grads and f.requires_grad and f.data.size != 1:
            root, root_name = f.sum(), "L"
            root.name = "L"
            print("f is not a scalar, so backward runs on L = sum(f): the gradients below "
                  "are dL/dNAME")
        explorer = None
        if args.html is not None and root.grad_fn is not None:  # before backward runs
            try:
                explorer = tg.viz.explore(root, gradient=np.ones_like(root.data))
            except RuntimeError as problem:  # no Graphviz program to draw the page's graph
                return error(problem)
        table = None
        if args.explain and root.grad_fn is not None:  # before backward frees the graph;
            # with --no-grads f may not be a scalar: start from ones, as sum(f) would
            table = tg.viz.explain_backward(root, gradient=np.ones_like(root.data), show=False)
        if not args.no_grads and f.requires_grad:
            with np.errstate(all="ignore"):  # inf and nan are shown, not warned about
                root.backward()
            print("Gradients:")
            for name, leaf in leaves.items():
                grad = _numbers_text(leaf.grad.data) if leaf.grad is not None else "none"
                print(f"  d{root_name}/d{name} = {grad}")
        elif not f.requires_grad:
            print("(the formula uses no variables, so there is nothing to differentiate)")
        if table is not None and args.no_grads:
            print("\nBackward, step by step (--no-grads: the local derivatives only):")
            print(_local_derivatives(table))
        elif table is not None:
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
    if explorer is not None:
        html = Path(args.html)
        try:
            html.parent.mkdir(parents=True, exist_ok=True)
            explorer.save(html)
        except OSError as problem:
            return error(f"cannot write {html}: {problem.strerror or problem}")
        print(f"Wrote {html}: open it in a browser to step through backward")
    elif args.html is not None:
        print(f"(--html: no op computed f from a variable, so {args.html} was not written)")
    return 0


def gradcheck(args: argparse.Namespace) -> int:
    """Check the backward of an op you wrote, in a Python file, against finite differences.

    Name the file and, after ::, the op: a tg.Function subclass (checked through its
    apply) or a plain function of Tensors:

        tinygrad-edu gradcheck course/sigmoid.py::Sigmoid
        tinygrad-edu gradcheck my_ops.py::MatMul --shapes 2x3,3x4 3x3,3x3

    Each case (random float64 inputs of given shapes) is checked by tg.gradcheck twice,
    with central differences and with np.gradient. The file may declare its cases as
    SHAPES = [((3,),), ((2, 3), (3,))], one tuple of input shapes per case, and
    INPUTS = make(rng, shapes) -> list of arrays for inputs with a domain (log needs
    x > 0); --shapes replaces SHAPES. Exit status: 0 when every check passes, 1 when one
    fails, 2 when the check cannot run (no such file or name, a file that raises, a check
    that does not finish within --timeout seconds).
    """
    if args.timeout == 0:
        return _gradcheck_here(args)
    return _gradcheck_in_child(args)


def _gradcheck_here(args: argparse.Namespace) -> int:
    """The check, in this process: the file is imported and the op run here."""
    from tinygrad_edu.grader import GraderError, run

    try:
        return run(args.target, shapes=args.shapes, seed=args.seed)
    except GraderError as problem:
        raise CommandError(problem) from None


# The child process of a check with a time limit: this command again, with --timeout 0,
# ignoring Ctrl-C (the parent stops it) and importing this copy of tinygrad_edu.
_CHILD = ("import signal, sys; signal.signal(signal.SIGINT, signal.SIG_IGN); "
          "sys.path.insert(0, sys.argv.pop(1)); "
          "from tinygrad_edu.cli import main; sys.exit(main(sys.argv[1:]))")


def _gradcheck_in_child(args: argparse.Namespace) -> int:
    """The check in a child process, stopped after --timeout seconds."""
    command = ["gradcheck", "--seed", str(args.seed), "--timeout", "0"]
    if args.shapes:
        command += ["--shapes", *(_case_text(case) for case in args.shapes)]
    return _in_child(command + ["--", args.target], args.target, args.timeout)


def _in_child(command: list[str], what: str, timeout: float) -> int:
    """Run `tinygrad-edu COMMAND` in a child process, stopped after `timeout` seconds.

    The student's file may loop forever, at import or in its code, and only another
    process can always stop it: a signal to this one would wait for a long NumPy call to
    return, and the code may catch the exception the signal raises."""
    command = [sys.executable, "-c", _CHILD, str(Path(__file__).resolve().parent.parent),
               *command]
    sys.stdout.flush()  # the child writes to the same stdout and stderr
    sys.stderr.flush()
    child = subprocess.Popen(command, stdin=subprocess.DEVNULL)
    try:
        status = child.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        seconds = f"{timeout:g} second{'' if timeout == 1 else 's'}"
        raise CommandError(
            f"{what} did not finish within {seconds} and was stopped: does the file's "
            "top-level code, or the code being checked, loop forever? Fix the loop, or "
            f"allow more time, such as --timeout {2 * timeout:g} (--timeout 0: no "
            "limit)") from None
    finally:
        if child.poll() is None:  # timed out, or Ctrl-C in this process
            child.kill()
            child.wait()
    if status < 0:  # killed by a signal: a crash in C code (NumPy, an extension)
        try:
            name = signal.Signals(-status).name
        except ValueError:
            name = f"signal {-status}"
        raise CommandError(f"the check of {what} was killed by {name}, before it could "
                           "report")
    if status not in (0, 1, 2, 130, 141):  # (the child's own: Ctrl-C, a closed pipe)
        raise CommandError(f"the check of {what} stopped with exit status {status} (does "
                           "the file call sys.exit or os._exit?)")
    return status


def exercises(args: argparse.Namespace) -> int:
    """The course: build the framework yourself, exercise by exercise.

        tinygrad-edu exercises                  list the exercises, with your status
        tinygrad-edu exercises start course     copy the templates into ./course
        tinygrad-edu exercises check sigmoid    grade one (run it in the course folder)

    Each exercise is a file with the math in its docstring and a `raise
    NotImplementedError` to replace. `check` grades it on cases and names the classic
    mistakes it recognises. Your status (todo, failing, done, or edited since its last
    check) is read from the folder: --dir DIR (default: the current folder). Exit status
    of check: 0 when it passes, 1 when it fails, 2 when it cannot run (no such exercise
    or file, a file that raises while being imported, a check that runs out of time).
    """
    if args.action == "start":
        return _exercises_start(args)
    if args.action == "check":
        if args.timeout == 0:
            return _exercises_check_here(args)
        command = ["exercises", "check", args.name, "--dir", args.dir, "--seed",
                   str(args.seed), "--timeout", "0"]
        return _in_child(command, args.name, args.timeout)
    return _exercises_list(args)


def _exercises_start(args: argparse.Namespace) -> int:
    from tinygrad_edu.course import CourseError, start

    try:
        written, kept = start(args.folder)
    except CourseError as problem:
        raise CommandError(problem) from None
    folder = Path(args.folder)
    print(f"Wrote {len(written)} exercise file{'s' if len(written) != 1 else ''} into "
          f"{folder}" + (f"; kept {len(kept)} that were there already (never overwritten)"
                         if kept else ""))
    inside = "" if folder.resolve() == Path.cwd() else f"cd {shlex.quote(str(folder))}\n  "
    print(f"Next:\n  {inside}tinygrad-edu exercises                           # the list, "
          "with your status\n  tinygrad-edu exercises check central_difference  # the first "
          "exercise")
    return 0


def _exercises_check_here(args: argparse.Namespace) -> int:
    from tinygrad_edu.course import CourseError, grade
    from tinygrad_edu.grader import GraderError

    try:
        text, passed = grade(args.name, args.dir, seed=args.seed)
    except (CourseError, GraderError) as problem:
        raise CommandError(problem) from None
    print(text)
    return 0 if passed else 1


def _exercises_list(args: argparse.Namespace) -> int:
    import textwrap

    from tinygrad_edu.course import EXERCISES, STAGES, statuses

    folder = Path(args.dir)
    states = statuses(folder)
    started = any((folder / f"{e.name}.py").is_file() for e in EXERCISES)
    print(f"The course: {len(EXERCISES)} exercises in {len(STAGES)} stages, from a numeric "
          "derivative to backprop")
    print("through time, each graded by `tinygrad-edu exercises check NAME`.")
    if started:
        counts = {s: list(states.values()).count(s) for s in ("done", "failing", "edited",
                                                              "todo")}
        where = "this folder" if folder.resolve() == Path.cwd() else str(folder)
        print(f"In {where}: " + ", ".join(f"{n} {s}" for s, n in counts.items() if n) + ".")
    print()
    print(f"{'#':>3}  {'exercise':<22}{'status':<9}what it teaches")
    stage = None
    for exercise in EXERCISES:
        if exercise.stage != stage:
            stage = exercise.stage
            print(f"     {STAGES.index(stage) + 1}. {stage}")
        status = states[exercise.name] if started else "-"
        lines = textwrap.wrap(exercise.teaches, 88 - 36, break_on_hyphens=False)
        print(f"{exercise.number:>3}  {exercise.name:<22}{status:<9}{lines[0]}")
        for line in lines[1:]:
            print(" " * 36 + line)
    print()
    if not started:
        print("No exercises in this folder yet. Start with\n"
              "  tinygrad-edu exercises start course && cd course\n"
              "then write each file's missing code and check it:\n"
              "  tinygrad-edu exercises check central_difference")
        return 0
    todo = next((e for e in EXERCISES if states[e.name] != "done"), None)
    if todo is None:
        print("Every exercise is done: you have built the framework.")
    else:
        option = "" if folder.resolve() == Path.cwd() else f" --dir {shlex.quote(str(folder))}"
        print(f"Next: tinygrad-edu exercises check {todo.name}{option}")
    return 0


def bench(args: argparse.Namespace) -> int:
    """How fast is tinygrad_edu on this machine, next to plain NumPy and PyTorch?

    Four workloads, each written three ways that compute the same numbers: NumPy with
    the backward pass written out by hand (no framework: the baseline), tinygrad_edu,
    and PyTorch when it is installed:

      mlp    an MLP training step: 784-256-256-10, ReLU, cross-entropy, SGD, batch 128
      chain  200 small elementwise ops on 16 numbers, forward + backward (time per op)
      cnn    a CNN training step: two 3x3 convolutions, a Linear, batch 32 of 28x28
      lstm   an LSTM training step: input 32, hidden 128, 50 time steps, batch 32

    First each backend's gradients are checked against NumPy's (a workload whose check
    fails is not timed). Then all backends are timed in this process, in rounds, one
    batch of steps each, the order rotated; the table shows medians and their ratios.
    BLAS and PyTorch run with one thread for the run, as the project's own figures
    (BLAS only when threadpoolctl is installed; otherwise NumPy's own setting, and the
    output says so); the settings are put back at the end. About 45 s on two cores
    (--quick: 20 s).

    Exit status: 0 when every check passes, 1 when a gradient check fails, 2 for bad
    options. The source is tinygrad_edu/bench.py; the full suite, in a checkout:
    python benchmarks/run.py.
    """
    from tqdm import tqdm

    from tinygrad_edu.bench import QUICK_ROUNDS, ROUNDS, format_report, measure

    rounds = (QUICK_ROUNDS if args.quick else ROUNDS) * len(args.only)
    with tqdm(total=rounds, desc="bench", unit="round", file=sys.stderr, leave=False,
              disable=args.no_progress, dynamic_ncols=True) as bar:
        report = measure(args.only, quick=args.quick, use_torch=not args.no_torch,
                         seed=args.seed, on_round=bar.update)
    print(format_report(report))
    return 0 if report.ok else 1


def _workload_names(text: str) -> list[str]:
    """"mlp,chain" -> ["mlp", "chain"]: --only's workloads, each known, each once."""
    from tinygrad_edu.bench import WORKLOADS

    names = [part.strip().lower() for part in text.split(",") if part.strip()]
    unknown = [name for name in names if name not in WORKLOADS]
    if unknown or not names:
        what = (f"unknown workload{'s' if len(unknown) > 1 else ''} "
                f"{', '.join(map(repr, unknown))}" if unknown else f"{text!r} names none")
        raise argparse.ArgumentTypeError(
            f"{what}: choose from {', '.join(WORKLOADS)}, comma-separated, such as "
            "--only mlp,chain")
    return list(dict.fromkeys(names))  # (in the order given, without repeats)


_MAX_CHECKED_ELEMENTS = 10_000  # per input of --shapes


def _shapes_case(text: str) -> tuple:
    from tinygrad_edu.grader import parse_case

    try:
        case = parse_case(text)
    except ValueError as problem:
        raise argparse.ArgumentTypeError(str(problem)) from None
    for shape in case:
        if 0 in shape:
            raise argparse.ArgumentTypeError(
                f"{text!r}: a size of 0 makes an empty input, with no gradient to check")
        if math.prod(shape) > _MAX_CHECKED_ELEMENTS:
            raise argparse.ArgumentTypeError(
                f"{text!r}: an input of shape {shape} has {math.prod(shape):,} elements; "
                "gradcheck perturbs them one by one and keeps a Jacobian of (output size) x "
                f"(input size) numbers, so give at most {_MAX_CHECKED_ELEMENTS:,} (a few "
                "dozen find any mistake)")
    return case


def _case_text(case: tuple) -> str:
    """((3, 4), (4,), ()) -> "3x4,4,()": a --shapes case, as it is typed."""
    return ",".join("x".join(map(str, shape)) if shape else "()" for shape in case)


def build_parser() -> argparse.ArgumentParser:
    from tinygrad_edu import __version__
    from tinygrad_edu.bench import QUICK_ROUNDS, ROUNDS, WORKLOADS
    from tinygrad_edu.training import ACTIVATIONS, DATASETS, MODELS, OPTIMIZERS, Config
    from tinygrad_edu.viz.expression import FUNCTIONS

    parser = argparse.ArgumentParser(
        prog="tinygrad-edu",
        description="tinygrad_edu: automatic differentiation over NumPy, built to be read.")
    parser.add_argument("--version", action="version", version=f"tinygrad_edu {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True

    def common(p, seed=0):
        p.add_argument("--out", default="tinygrad_edu_out", metavar="DIR",
                       help="folder for the files written (default: ./tinygrad_edu_out)")
        p.add_argument("--seed", type=_seed, default=seed,
                       help="random seed, 0 or more (default: 0)")
        p.add_argument("--no-progress", action="store_true", help="no progress bars")

    p = commands.add_parser("demo", help="backprop through a neuron, then train two MLPs",
                            description=inspect.cleandoc(demo.__doc__),
                            formatter_class=argparse.RawDescriptionHelpFormatter)
    common(p)
    p.set_defaults(run=demo)

    p = commands.add_parser("train", help="train a classifier (an MLP or a CNN) and save it",
                            description=inspect.cleandoc(train.__doc__),
                            formatter_class=argparse.RawDescriptionHelpFormatter)
    # The Config options default to None, so that --resume can tell the ones given (which
    # must agree with the checkpoint) from the ones left out; a new run fills those in
    # from Config's defaults.
    defaults = Config()
    p.add_argument("--dataset", choices=DATASETS,
                   help="toy 2-D sets (1,000 points) or the 8x8 digits "
                        f"(default: {defaults.dataset})")
    p.add_argument("--model", choices=MODELS,
                   help=f"mlp, or cnn: convolutions for the digits images (default: "
                        f"{defaults.model})")
    p.add_argument("--hidden", type=_hidden_sizes, metavar="SIZES",
                   help="hidden layer sizes, comma-separated; for --model cnn the channels "
                        "of each convolution (default: "
                        f"{','.join(map(str, defaults.hidden))})")
    p.add_argument("--activation", choices=sorted(ACTIVATIONS),
                   help=f"between the hidden layers (default: {defaults.activation})")
    p.add_argument("--optimizer", choices=sorted(OPTIMIZERS),
                   help="with PyTorch's defaults apart from --lr (default: "
                        f"{defaults.optimizer})")
    p.add_argument("--lr", type=_positive(float),
                   help=f"learning rate (default: {defaults.lr})")
    p.add_argument("--epochs", type=_positive(int),
                   help=f"epochs in all (default: {defaults.epochs}; with --resume, the "
                        "checkpoint's, and more to train longer)")
    p.add_argument("--batch-size", type=_positive(int),
                   help=f"samples per step (default: {defaults.batch_size})")
    p.add_argument("--resume", metavar="CHECKPOINT",
                   help="continue the run saved in this checkpoint.npz, with its options "
                        "(giving a different one is an error; --epochs may grow)")
    common(p, seed=None)
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
    p.add_argument("--shapes", nargs="+", action="extend", type=_shapes_case,
                   metavar="CASE",
                   help="the cases to check instead of the file's SHAPES: each CASE is the "
                        "input shapes separated by commas, sizes by x, such as 3x4,4 "
                        "(and () for a scalar)")
    p.add_argument("--seed", type=_seed, default=0,
                   help="seed of the random inputs, 0 or more (default: 0)")
    p.add_argument("--timeout", type=_seconds, default=60, metavar="SECONDS",
                   help="stop a check that has not finished after this many seconds, as "
                        "when the op loops forever (default: 60). The check runs in a child "
                        "process; with 0, no limit, it runs in this one (where breakpoint() "
                        "in your op works)")
    p.set_defaults(run=gradcheck)

    p = commands.add_parser(
        "exercises", help="the course: list the exercises, start a folder, check one",
        description=inspect.cleandoc(exercises.__doc__),
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dir", default=".", help="your course folder (default: this one)")
    p.set_defaults(run=exercises, action="list")
    actions = p.add_subparsers(dest="action", metavar="ACTION")
    q = actions.add_parser("list", help="the exercises in order, with your status")
    q.add_argument("--dir", default=argparse.SUPPRESS,
                   help="your course folder (default: this one)")
    q = actions.add_parser("start", help="copy the exercise templates into a folder (a "
                           "file that exists is never overwritten)")
    q.add_argument("folder", metavar="DIR", help="the course folder, made if need be")
    q = actions.add_parser("check", help="grade one exercise, naming the mistakes it sees")
    q.add_argument("name", metavar="NAME", help="the exercise, as the list names it")
    q.add_argument("--dir", default=argparse.SUPPRESS,
                   help="your course folder (default: this one)")
    q.add_argument("--seed", type=_seed, default=0,
                   help="seed of the random inputs, 0 or more (default: 0)")
    q.add_argument("--timeout", type=_seconds, default=60, metavar="SECONDS",
                   help="stop a check that has not finished after this many seconds "
                        "(default: 60; 0: no limit, and the check runs in this process)")

    p = commands.add_parser(
        "bench", help="how fast tinygrad_edu is here, next to NumPy and PyTorch",
        description=inspect.cleandoc(bench.__doc__),
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true",
                   help=f"{QUICK_ROUNDS} rounds instead of {ROUNDS}: a rough look in about "
                        "20 s")
    p.add_argument("--only", type=_workload_names, default=list(WORKLOADS), metavar="NAMES",
                   help=f"the workloads to run, comma-separated: {', '.join(WORKLOADS)} "
                        "(default: all)")
    p.add_argument("--no-torch", action="store_true",
                   help="leave PyTorch out, even when it is installed")
    p.add_argument("--seed", type=_seed, default=0,
                   help="seed of the data and the starting weights, 0 or more (default: 0)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(run=bench)
    return parser


# What to make smaller when a command runs out of memory.
_SMALLER = {"demo": "close other programs", "train": "use smaller --hidden or --batch-size",
            "graph": "use shorter vectors", "gradcheck": "use smaller shapes",
            "exercises": "close other programs", "bench": "use --only to run fewer workloads"}


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    name = f"tinygrad-edu {args.command}"
    try:
        status = args.run(args)
        sys.stdout.flush()  # (so that a closed pipe shows here, not in Python's last flush)
        return status
    except CommandError as problem:
        print(f"{name}: {problem}", file=sys.stderr)
        return 2
    except MemoryError as problem:
        print(f"{name}: out of memory ({problem or 'MemoryError'}): "
              f"{_SMALLER[args.command]}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"\n{name}: interrupted (Ctrl-C)", file=sys.stderr)
        return 130  # 128 + SIGINT, as the shell reports a command stopped by Ctrl-C
    except BrokenPipeError:  # the reader of the output has gone (`... | head`): stop
        # quietly; stdout goes nowhere now, so that Python's last flush cannot fail again
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141  # 128 + SIGPIPE, as for other commands whose pipe closes


if __name__ == "__main__":
    sys.exit(main())
