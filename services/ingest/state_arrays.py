"""Partition state as named NumPy arrays: the vocabulary checkpoints are written in.

Each state object turns itself into a flat `{name: array}` mapping and back. Parents nest
their parts' mappings under a dotted prefix, so a whole partition is one flat mapping of
plain numeric arrays (no Python objects), readable without pickle.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

Arrays = dict[str, np.ndarray]


def nest(prefix: str, arrays: Arrays) -> Arrays:
    """`arrays` with every name under `prefix.`."""
    return {f"{prefix}.{name}": array for name, array in arrays.items()}


def section(arrays: Arrays, prefix: str) -> Arrays:
    """The arrays under `prefix.`, with the prefix removed."""
    start = f"{prefix}."
    return {name[len(start) :]: a for name, a in arrays.items() if name.startswith(start)}


def optional_int(value: int | None) -> np.ndarray:
    """An optional integer as an int64 array of zero or one element."""
    return np.array([] if value is None else [value], dtype=np.int64)


def int_or_none(array: np.ndarray) -> int | None:
    return int(array[0]) if len(array) else None


def strings_to_arrays(values: np.ndarray) -> Arrays:
    """An object array of str or None as UTF-8 bytes, int64 offsets and a validity mask."""
    column = pa.array(values, type=pa.large_string())
    data = column.buffers()[2]
    offsets = np.frombuffer(column.buffers()[1], dtype=np.int64, count=len(column) + 1)
    return {
        "utf8": np.frombuffer(data, dtype=np.uint8).copy() if data else np.empty(0, np.uint8),
        "offsets": offsets.copy(),
        "valid": column.is_valid().to_numpy(zero_copy_only=False),
    }


def arrays_to_strings(arrays: Arrays) -> np.ndarray:
    """The object array `strings_to_arrays` encoded (None where not valid)."""
    offsets, valid = arrays["offsets"].astype(np.int64), arrays["valid"].astype(bool)
    if len(offsets) != len(valid) + 1:
        raise ValueError("string offsets do not match the validity mask")
    validity = pa.array(valid).buffers()[1]
    column = pa.LargeStringArray.from_buffers(
        len(valid), pa.py_buffer(offsets), pa.py_buffer(arrays["utf8"]), validity
    )
    column.validate(full=True)
    strings: np.ndarray = column.to_numpy(zero_copy_only=False).astype(object)
    return strings
