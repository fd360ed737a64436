"""Write pytorch_programs_reference.json: the numbers the examples/pytorch_*.py programs
print when they run with real PyTorch.

Run with a Python that has torch (it is not a test, and pytest does not collect it):

    python3 tests/data/make_pytorch_programs_reference.py

Each program is written in PyTorch's dialect; only its import lines name this library.
Here those lines are rewritten to PyTorch's own (`import torch`, `import torch.nn as nn`,
`import torch.nn.functional as F`), the rewritten program runs in a subprocess, and
every line it prints as `RESULT name value` is stored. The names loader
(`from tinygrad_edu.data import load_names`) stays: the names are a plain text file
shipped with the package, read the same way in both runs, so the subprocess gets the
repository root on PYTHONPATH. The SHA-256 of each program is stored too, so that the
test can tell when a program changed after its reference was made.

Random draws that the programs compare come from seeded NumPy generators (the two
frameworks' random streams differ); what they sample with torch's own generator is
printed, not stored.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
PROGRAMS = sorted((ROOT / "examples").glob("pytorch_*.py"))
OUT = Path(__file__).resolve().parent / "pytorch_programs_reference.json"

# the only lines that differ between the program as shipped and as PyTorch runs it
TORCH_IMPORTS = {
    "import tinygrad_edu as torch": "import torch",
    "import tinygrad_edu.nn as nn": "import torch.nn as nn",
    "import tinygrad_edu.nn.functional as F": "import torch.nn.functional as F",
}


def to_torch(source: str) -> str:
    """The program with its import lines rewritten to PyTorch's."""
    return "\n".join(TORCH_IMPORTS.get(line, line) for line in source.split("\n"))


def parse_results(stdout: str) -> dict[str, float | bool]:
    """The `RESULT name value` lines of a run, as {name: value}."""
    results: dict[str, float | bool] = {}
    for line in stdout.splitlines():
        if line.startswith("RESULT "):
            _, name, value = line.split(" ", 2)
            assert name not in results, f"RESULT {name} printed twice"
            results[name] = value == "True" if value in ("True", "False") else float(value)
    return results


def main() -> None:
    import torch  # only to say which version made the numbers

    reference = {"torch_version": torch.__version__, "programs": {}}
    # one thread: the same order of floating-point sums on every run (and, on small
    # tensors, much faster than a pool of threads waiting for each other)
    env = dict(os.environ, PYTHONPATH=str(ROOT), MPLBACKEND="Agg", OMP_NUM_THREADS="1")
    with tempfile.TemporaryDirectory() as tmp:
        for program in PROGRAMS:
            source = program.read_text()
            torch_program = Path(tmp) / program.name
            torch_program.write_text(to_torch(source))
            run = subprocess.run([sys.executable, str(torch_program)], cwd=tmp, env=env,
                                 capture_output=True, text=True, timeout=600)
            if run.returncode != 0:
                sys.exit(f"{program.name} failed with PyTorch:\n{run.stdout}{run.stderr}")
            results = parse_results(run.stdout)
            if not results:
                sys.exit(f"{program.name} printed no RESULT lines")
            reference["programs"][program.name] = {
                "sha256": hashlib.sha256(source.encode()).hexdigest(),
                "results": results,
            }
            print(f"{program.name}: {len(results)} results")
    OUT.write_text(json.dumps(reference, indent=1, sort_keys=True) + "\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
