"""Checkpoints: `tg.save(obj, path)` and `tg.load(path)`, as NumPy `.npz` files.

What can be saved: a state dict (`model.state_dict()`, `optimizer.state_dict()`), or
dicts, lists and tuples that nest them, with Tensors, ndarrays, numbers, strings, bools
and None as leaves; for example a checkpoint
`{"model": model.state_dict(), "optimizer": opt.state_dict(), "epoch": 3}`.

Why not pickle, as `torch.save` does: loading a pickle runs whatever code the file
names, so a checkpoint from the internet can take over your machine. An `.npz` file is a
zip of plain arrays. `tg.load` reads it with `allow_pickle=False`, so nothing in the file
is ever executed. The structure (which keys, which nesting, which leaves were Tensors)
is stored as JSON text in one extra array, `__tinygrad_edu__`; every array is stored
under a readable key (`model/0.weight`), so `np.load(path)` shows the contents too.
"""

from __future__ import annotations

import json
import os
import tempfile
import zipfile

import numpy as np

from .tensor import Tensor

FORMAT = "tinygrad_edu checkpoint"
VERSION = 1
_META = "__tinygrad_edu__"


class CheckpointError(ValueError):
    """A file that `tg.load` will not read: corrupt, truncated, pickled or foreign."""


def _encode(obj, path: str, arrays: dict):
    """The JSON description of `obj`; its arrays go into `arrays` under readable keys."""
    if isinstance(obj, (Tensor, np.ndarray, np.generic)):
        array = obj.data if isinstance(obj, Tensor) else np.asarray(obj)
        if array.dtype.kind not in "biufc":
            raise TypeError(f"tg.save: {path or 'the value'} holds a {array.dtype} array; only "
                            "numeric arrays can be saved")
        key = path or "value"
        while key in arrays or key == _META:
            key += "_"
        arrays[key] = array
        return {"array": key, "tensor": isinstance(obj, Tensor)}
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return {"value": obj}
    if isinstance(obj, dict):
        items = []
        for key, value in obj.items():
            if not isinstance(key, (str, int)) or isinstance(key, bool):
                raise TypeError(f"tg.save: dictionary keys must be str or int, got "
                                f"{key!r} in {path or 'the top level'}")
            child = f"{path}/{key}" if path else str(key)
            items.append([key, _encode(value, child, arrays)])
        return {"dict": items}
    if isinstance(obj, (list, tuple)):
        kind = "list" if isinstance(obj, list) else "tuple"
        return {kind: [_encode(v, f"{path}/{i}" if path else str(i), arrays)
                       for i, v in enumerate(obj)]}
    hint = ""
    if hasattr(obj, "state_dict"):
        hint = ": save its state dict instead, tg.save(obj.state_dict(), path)"
    raise TypeError(f"tg.save: cannot save a {type(obj).__name__} at {path or 'the top level'}"
                    f"{hint}. Checkpoints hold dicts, lists, tuples, Tensors, ndarrays, numbers, "
                    "strings and None")


def save(obj, path) -> None:
    """Save a state dict (or dicts/lists of them) to `path` as an `.npz` file.

    The file is written to a temporary name first and then renamed, so an interrupted
    save never leaves half a checkpoint under `path`. `path` is used exactly as given
    (no `.npz` is appended).
    """
    arrays: dict[str, np.ndarray] = {}
    tree = _encode(obj, "", arrays)
    meta = json.dumps({"format": FORMAT, "version": VERSION, "tree": tree})
    arrays[_META] = np.array(meta)  # a unicode array: no pickle needed to read it back
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    handle, temporary = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=".npz")
    try:
        with os.fdopen(handle, "wb") as file:
            np.savez_compressed(file, **arrays)
        os.chmod(temporary, 0o666 & ~_umask())  # mkstemp made it private; make it ordinary
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.remove(temporary)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _decode(node, arrays, path: str):
    if "array" in node:
        array = arrays[node["array"]]
        return Tensor(array) if node.get("tensor") else array
    if "value" in node:
        return node["value"]
    if "dict" in node:
        return {key: _decode(value, arrays, f"{path}/{key}") for key, value in node["dict"]}
    for kind, make in (("list", list), ("tuple", tuple)):
        if kind in node:
            return make(_decode(v, arrays, f"{path}/{i}") for i, v in enumerate(node[kind]))
    raise CheckpointError(f"unknown entry {node!r:.80} at {path or 'the top level'}")


def load(path):
    """Read a file written by `tg.save`. Tensors come back as Tensors, ndarrays as ndarrays.

    Raises `CheckpointError` (a ValueError) for a file that is not a tinygrad_edu
    checkpoint: a pickle (such as a `torch.save` file), a truncated or corrupt file, or
    some other `.npz`. Nothing in the file is executed, whatever it holds.
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"tg.load: no such file: {path!r}")
    with open(path, "rb") as file:
        head = file.read(4)
    not_ours = f"tg.load: {path!r} is not a tinygrad_edu checkpoint"
    if head[:1] == b"\x80":
        raise CheckpointError(f"{not_ours}: it holds pickled Python objects (a pickle or an old "
                              "torch.save file). Loading a pickle can run any code it names, so "
                              "tg.load refuses it.")
    if not head.startswith(b"PK"):
        raise CheckpointError(f"{not_ours}: it is not an .npz (zip) file. Write checkpoints "
                              "with tg.save(model.state_dict(), path).")
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.namelist()
        if any(name.endswith("data.pkl") for name in members):
            raise CheckpointError(
                f"{not_ours}: it is a torch.save file, whose tensors are stored as a pickle. "
                "Load it with torch.load(path, weights_only=True) and convert each tensor with "
                ".numpy(); load_state_dict accepts the arrays.")
        with np.load(path, allow_pickle=False) as npz:
            if _META not in npz.files:
                raise CheckpointError(
                    f"{not_ours}: it is an .npz file without the {_META} entry that tg.save "
                    f"writes (its arrays: {', '.join(npz.files[:5]) or 'none'}). Read plain .npz "
                    "files with np.load(path).")
            meta = json.loads(str(npz[_META]))
            if meta.get("format") != FORMAT:
                raise CheckpointError(not_ours)
            if meta.get("version", 0) > VERSION:
                raise CheckpointError(
                    f"tg.load: {path!r} was written by a newer tinygrad_edu (checkpoint format "
                    f"{meta.get('version')}; this version reads up to {VERSION}): upgrade")
            arrays = {name: npz[name] for name in npz.files if name != _META}
    except CheckpointError:
        raise
    except ValueError as error:
        if "pickle" not in str(error):
            raise CheckpointError(f"tg.load: {path!r} is corrupt ({error}). Nothing was "
                                  "loaded.") from None
        raise CheckpointError(f"{not_ours}: it contains an array of Python objects, which only "
                              "pickle could read, and tg.load never unpickles.") from None
    except (zipfile.BadZipFile, EOFError, OSError, KeyError, json.JSONDecodeError) as error:
        raise CheckpointError(f"tg.load: {path!r} is truncated or corrupt ({error}). Nothing "
                              "was loaded.") from None
    return _decode(meta["tree"], arrays, "")
