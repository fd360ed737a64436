"""tinygrad_edu: automatic differentiation over NumPy, written to be read."""

__version__ = "0.1.0"
