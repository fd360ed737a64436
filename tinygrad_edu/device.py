"""Devices, as PyTorch names them: here there is one, the CPU.

Every array lives in the computer's main memory and NumPy computes on the processor, so
`device="cpu"`, `tg.device("cpu")` and `.to("cpu")` are accepted (code written for
PyTorch passes them everywhere) and anything else is a clear error.
`tg.cuda.is_available()` is False, so the usual
`device = "cuda" if torch.cuda.is_available() else "cpu"` picks the CPU.
"""

from __future__ import annotations


class device:  # noqa: N801  (PyTorch's name)
    """A device: `tg.device("cpu")` (also "cpu:0"). The only one there is."""

    __slots__ = ("type",)

    def __init__(self, type: str | device = "cpu", index: int | None = None):  # noqa: A002
        if isinstance(type, device):
            type = type.type
        name = str(type)
        kind, _, number = name.partition(":")
        if kind != "cpu" or (number not in ("", "0")) or index not in (None, 0):
            raise RuntimeError(
                f"device {name!r}{'' if index is None else f' index {index}'} is not "
                "available: tinygrad_edu computes with NumPy on the CPU, the only device "
                "(use 'cpu', or write device = 'cuda' if torch.cuda.is_available() else 'cpu')")
        self.type = "cpu"

    @property
    def index(self) -> None:
        return None

    def __eq__(self, other) -> bool:
        if isinstance(other, str):
            return other in ("cpu", "cpu:0")
        return isinstance(other, device)

    def __hash__(self) -> int:
        return hash("cpu")

    def __str__(self) -> str:
        return "cpu"

    def __repr__(self) -> str:
        return "device(type='cpu')"


CPU = device("cpu")


def as_device(value, op: str) -> device:
    """`value` (None, a string or a device) as the CPU device, or a clear error."""
    if value is None or isinstance(value, device):
        return CPU
    try:
        return device(value)
    except RuntimeError as error:
        raise RuntimeError(f"{op}: {error}") from None


def set_default_device(value) -> None:
    """PyTorch's `torch.set_default_device`: only the CPU is accepted (it is the default)."""
    as_device(value, "set_default_device")
