"""The measuring method shared by the benchmarks: set-up, interleaved timing, checks, memory.

The rules it follows (see benchmarks/README.md for why each one is there):

- every backend runs in the same process, one timed batch each per round, the order of
  the backends rotated every round; the figure quoted is the median over the rounds and
  a comparison is a ratio of medians;
- one BLAS / OpenMP thread (threadpoolctl and `torch.set_num_threads(1)`);
- `time.sleep(0.2)` before each timed batch, so that the previous backend's spinning
  worker threads have gone quiet;
- the allocator is primed once (one ~30 MB array allocated and freed) at start;
- `gc.collect()` ends every timed batch, inside the timing;
- gradients are compared with the NumPy baseline's before anything is timed;
- memory is the peak RSS (`VmHWM`) of a fresh child process.

Nothing here imports PyTorch unless asked to: `load_torch()` returns None when it is not
installed (or when it is switched off), and the callers skip its columns.
"""

from __future__ import annotations

import gc
import os
import platform
import statistics
import subprocess
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

SETTLE_SECONDS = 0.2  # before each timed batch
PRIME_BYTES = 30 * 1024 * 1024


# ---------------------------------------------------------------------------------------
# set-up
# ---------------------------------------------------------------------------------------


def import_tinygrad_edu():
    """The package from this checkout (not some other installed copy)."""
    if ROOT not in sys.path:
        sys.path.insert(0, ROOT)
    import tinygrad_edu

    return tinygrad_edu


def load_torch(enabled: bool = True):
    """`torch`, or None when it is not installed or switched off."""
    if not enabled:
        return None
    try:
        import torch
    except ImportError:
        return None
    return torch


class Threads:
    """Limit BLAS and OpenMP pools to one thread for as long as this object lives."""

    def __init__(self, torch=None, n: int = 1):
        self.n = n
        self.limiter = None
        self.note = ""
        if torch is not None:
            torch.set_num_threads(n)
        try:
            from threadpoolctl import threadpool_limits
        except ImportError:
            self.note = ("threadpoolctl is not installed: BLAS thread counts are NOT limited "
                         "(pip install threadpoolctl)")
            return
        self.limiter = threadpool_limits(n)

    def describe(self) -> list[str]:
        """One line per thread pool found in the process."""
        lines = []
        try:
            from threadpoolctl import threadpool_info
        except ImportError:
            return [self.note]
        for pool in threadpool_info():
            lines.append(f"{pool.get('internal_api', '?')} {pool.get('version', '')} "
                         f"({pool.get('user_api', '?')}, {os.path.basename(pool['filepath'])}"
                         f"{', ' + pool['architecture'] if pool.get('architecture') else ''})"
                         f": {pool.get('num_threads')} thread(s)")
        if self.note:
            lines.append(self.note)
        return lines


def prime_allocator() -> None:
    """Allocate and free one ~30 MB block, so that glibc raises its mmap threshold once.

    A fresh process otherwise hands large blocks back to the OS on every free and
    page-faults them in again on every step. np.empty touches no page, so this adds
    nothing to a child's peak RSS.
    """
    block = np.empty(PRIME_BYTES, dtype=np.uint8)
    del block


# ---------------------------------------------------------------------------------------
# timing
# ---------------------------------------------------------------------------------------


def timed_batch(step, steps: int) -> float:
    """Seconds for `steps` calls of `step()`, garbage collection included."""
    time.sleep(SETTLE_SECONDS)
    start = time.perf_counter()
    for _ in range(steps):
        step()
    gc.collect()
    return time.perf_counter() - start


def freeze_heap() -> None:
    """Move every object alive now out of the garbage collector's sight (gc.freeze).

    A full gc.collect() walks every tracked object: with PyTorch imported that is ~170,000
    objects and ~90 ms, a fixed cost that would swamp a short batch and pull every ratio
    towards 1. Frozen, the imports and the set-up are skipped, and the collection at the
    end of a batch costs what that batch's own garbage costs.
    """
    gc.collect()
    gc.freeze()


def interleaved(steps_by_backend: dict, steps: int, rounds: int, warmup: bool = True,
                progress: str = "") -> dict[str, list[float]]:
    """Per-step seconds of each backend, one batch each per round, order rotated.

    Returns {backend: [seconds per step, one per round]}.
    """
    names = list(steps_by_backend)
    progress = progress if sys.stderr.isatty() else ""
    if warmup:
        for name in names:
            timed_batch(steps_by_backend[name], 1)
    freeze_heap()
    times: dict[str, list[float]] = {name: [] for name in names}
    for r in range(rounds):
        shift = r % len(names)
        for name in names[shift:] + names[:shift]:
            times[name].append(timed_batch(steps_by_backend[name], steps) / steps)
        if progress:
            print(f"\r  {progress}: round {r + 1}/{rounds}", end="", file=sys.stderr,
                  flush=True)
    if progress:
        print("\r" + " " * 60 + "\r", end="", file=sys.stderr, flush=True)
    return times


def median(values) -> float:
    return statistics.median(values)


def spread(values) -> str:
    """Half the interquartile range as a percentage of the median: the run's noise."""
    mid = median(values)
    if len(values) < 4:
        return f"range {min(values) / mid - 1:+.0%}..{max(values) / mid - 1:+.0%}"
    q1, _, q3 = statistics.quantiles(values, n=4)
    return f"IQR +-{(q3 - q1) / 2 / mid:.1%}"


# ---------------------------------------------------------------------------------------
# checking
# ---------------------------------------------------------------------------------------


def max_abs_diff(reference, other) -> float:
    """The largest |difference| over a tuple of gradient arrays."""
    return max(float(np.max(np.abs(np.asarray(r, dtype=np.float64) -
                                   np.asarray(o, dtype=np.float64))))
               for r, o in zip(reference, other))


def scale_of(reference) -> float:
    return max(1.0, max(float(np.max(np.abs(np.asarray(r)))) for r in reference))


# ---------------------------------------------------------------------------------------
# memory
# ---------------------------------------------------------------------------------------


def proc_status_kb(field: str) -> int | None:
    """A `/proc/self/status` field in KiB (VmRSS, VmHWM), or None off Linux."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def reset_peak_rss() -> bool:
    """Reset VmHWM to the current RSS (Linux: write 5 to clear_refs). False if refused."""
    try:
        with open("/proc/self/clear_refs", "w") as refs:
            refs.write("5")
        return True
    except OSError:
        return False


def mib(kb) -> str:
    return "n/a" if kb is None else f"{kb / 1024:.1f} MiB"


# ---------------------------------------------------------------------------------------
# output
# ---------------------------------------------------------------------------------------


def fmt_time(seconds: float) -> str:
    """A duration with a unit that keeps 3-4 significant digits."""
    if seconds < 1e-3:
        return f"{seconds * 1e6:.2f} us"
    if seconds < 1:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds:.3f} s"


def table(header: list[str], rows: list[list[str]], indent: str = "  ") -> str:
    """A plain text table, first column left-aligned, the rest right-aligned, notes last."""
    widths = [max(len(str(row[i])) for row in [header] + rows) for i in range(len(header))]

    def line(cells):
        out = []
        for i, cell in enumerate(cells):
            cell = str(cell)
            if i == 0 or i == len(cells) - 1:
                out.append(cell.ljust(widths[i]))
            else:
                out.append(cell.rjust(widths[i]))
        return (indent + "  ".join(out)).rstrip()

    rule = indent + "  ".join("-" * w for w in widths)
    return "\n".join([line(header), rule] + [line(row) for row in rows])


def git_revision() -> str:
    """The checkout's commit, and whether the work tree has changes, for the record."""
    try:
        head = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "-C", ROOT, "status", "--porcelain", "--",
                                "tinygrad_edu"],
                               capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    if not head:
        return "unknown"
    return head + (" (tinygrad_edu/ has uncommitted changes)" if dirty else "")


def environment_lines(tg, torch, threads: Threads, torch_off: bool = False) -> list[str]:
    lines = [
        f"python        {platform.python_version()} ({platform.machine()}, "
        f"{os.cpu_count()} CPUs)",
        f"numpy         {np.__version__}",
        f"tinygrad_edu  {tg.__version__} from {os.path.dirname(tg.__file__)}, "
        f"commit {git_revision()}",
    ]
    if torch is None:
        why = "switched off (--no-torch)" if torch_off else "not installed"
        lines.append(f"torch         {why}: the PyTorch columns are skipped")
    else:
        lines.append(f"torch         {torch.__version__}, torch.get_num_threads() = "
                     f"{torch.get_num_threads()}")
    pools = threads.describe()
    lines.append("thread pools  " + (pools[0] if pools else "none found"))
    lines += ["              " + p for p in pools[1:]]
    for var in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OMP_NUM_THREADS"):
        if os.environ.get(var):
            lines.append(f"env           {var}={os.environ[var]}")
    return lines
