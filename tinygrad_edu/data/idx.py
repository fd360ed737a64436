"""Reading IDX files, the simple binary format MNIST is distributed in.

An IDX file is a header followed by the raw values:

    byte 0, 1     0, 0                  (the magic number starts with two zero bytes)
    byte 2        the type of the values: 0x08 uint8, 0x09 int8, 0x0B int16,
                  0x0C int32, 0x0D float32, 0x0E float64
    byte 3        the number of dimensions, ndim
    then          ndim sizes, each a 4-byte big-endian unsigned int
    then          the values, row-major, multi-byte values big-endian

So MNIST's training images start 00 00 08 03 | 00 00 EA 60 | 00 00 00 1C | 00 00 00 1C:
uint8 values in 3 dimensions, 60000 x 28 x 28.
"""

from __future__ import annotations

import gzip
import math
import struct
from pathlib import Path

import numpy as np

# type code -> dtype. ">" means big-endian, the byte order IDX files use.
IDX_DTYPES = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


def read_idx(path) -> np.ndarray:
    """The array stored in an IDX file; a name ending in `.gz` is decompressed first.

    Raises a ValueError naming the file if it is not a valid IDX file: a wrong magic
    number or type code, or fewer or more bytes of data than its header announces.
    """
    path = Path(path)
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rb") as file:
                content = file.read()
        else:
            content = path.read_bytes()
    except (gzip.BadGzipFile, EOFError) as error:
        raise ValueError(f"read_idx: {path} is not a valid gzip file ({error}); "
                         "delete it and download it again") from None

    if len(content) < 4:
        raise ValueError(f"read_idx: {path} is truncated: {len(content)} bytes, fewer than "
                         "the 4 bytes of the magic number")
    zero_1, zero_2, type_code, ndim = content[:4]
    if zero_1 != 0 or zero_2 != 0:
        raise ValueError(f"read_idx: {path} is not an IDX file: the magic number must start "
                         f"with two zero bytes, got {content[:4].hex(' ')}")
    if type_code not in IDX_DTYPES:
        known = ", ".join(f"0x{code:02X} {dtype.name}" for code, dtype in IDX_DTYPES.items())
        raise ValueError(f"read_idx: {path} has the unknown type code 0x{type_code:02X} "
                         f"(byte 2); known codes are {known}")
    dtype = IDX_DTYPES[type_code]

    header_size = 4 + 4 * ndim
    if len(content) < header_size:
        raise ValueError(f"read_idx: {path} is truncated: its header needs {header_size} "
                         f"bytes for {ndim} dimensions, the file has {len(content)}")
    shape = struct.unpack(f">{ndim}I", content[4:header_size])  # I: 4-byte unsigned int
    count = math.prod(shape)
    expected = count * dtype.itemsize
    found = len(content) - header_size
    if found < expected:
        raise ValueError(f"read_idx: {path} is truncated: the header announces shape {shape} "
                         f"of {dtype.name} ({expected} bytes of data), but only {found} bytes "
                         "follow; delete the file and download it again")
    if found > expected:
        raise ValueError(f"read_idx: {path} has {found - expected} bytes of trailing data "
                         f"after the {expected} bytes that shape {shape} of {dtype.name} "
                         "needs: it is not a valid IDX file")

    array = np.frombuffer(content, dtype=dtype, count=count, offset=header_size)
    # a writable copy in the machine's own byte order (frombuffer's view is read-only)
    return array.reshape(shape).astype(dtype.newbyteorder("="))
