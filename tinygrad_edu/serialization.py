"""Checkpoints: `tg.save(obj, path)` and `tg.load(path)`, as NumPy `.npz` files.

What can be saved: a state dict (`model.state_dict()`, `optimizer.state_dict()`), or
dicts, lists and tuples that nest them, with Tensors, ndarrays, numbers, strings, bools
and None as leaves; for example a checkpoint
`{"model": model.state_dict(), "optimizer": opt.state_dict(), "epoch": 3}`.

Why not pickle, as `torch.save` does: loading a pickle runs whatever code the file
names, so a checkpoint from the internet can take over your machine. An `.npz` file is a
zip of plain arrays. `tg.load` reads only numeric arrays and refuses any array of Python
objects (which only pickle could read), so nothing in the file is ever executed. The
structure (which keys, which nesting, which leaves were Tensors) is stored as JSON text
in one extra array, `__tinygrad_edu__`; every array is stored under a readable key
(`model/0.weight`), so `np.load(path)` shows the contents too.

The metadata, for `{"w": tensor, "epoch": 3}`:

    {"format": "tinygrad_edu checkpoint", "version": 1,
     "tree": {"dict": [["w", {"array": "w", "tensor": true}], ["epoch", {"value": 3}]]}}

Every entry of the tree has exactly one of the keys `array` (the name of a stored array,
with `tensor` saying whether it was a Tensor), `value` (a number, string, bool or null),
`dict` (a list of `[key, entry]` pairs), `list` or `tuple` (lists of entries).

A file from elsewhere may be damaged or made to do harm, so `tg.load` trusts nothing in
it: it checks every entry of the metadata before it reads a single array, reads only the
arrays the metadata names, and reads each one so that the file cannot make it allocate
more than the array the file really holds (see `_MemberReader.npy`).
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import secrets
import stat
import time
import zipfile
import zlib

import numpy as np

from .tensor import Tensor

FORMAT = "tinygrad_edu checkpoint"
VERSION = 1
_META = "__tinygrad_edu__"
_KINDS = ("array", "value", "dict", "list", "tuple")


class CheckpointError(ValueError):
    """A file that `tg.load` will not read: corrupt, truncated, pickled or foreign."""


# --- saving -----------------------------------------------------------------------------

def _encode(obj, path: str, arrays: dict):
    """The JSON description of `obj`; its arrays go into `arrays` under readable keys."""
    if isinstance(obj, (Tensor, np.ndarray, np.generic)):
        array = obj.data if isinstance(obj, Tensor) else np.asarray(obj)
        if array.dtype.kind not in "biufc":
            raise TypeError(f"tg.save: {path or 'the value'} holds a {array.dtype} array; only "
                            "numeric arrays can be saved")
        key = (path or "value").replace("\0", "?")  # zip cuts member names at a NUL byte
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

    The temporary file sits next to `path` and is called `.tmp-<name>-<pid>-<random>.npz`
    (`<name>` is the file name of `path`, `<pid>` the id of the saving process). A save
    that is killed leaves it behind; the next save to the same `path` removes it once it
    is stale: its process is no longer running and it has not been written to for a
    minute (a guard for a folder shared by several machines or containers, where the id
    may belong to a save running elsewhere). A save in progress, in this process or
    another, is never touched, nor is any other file. Windows cannot be asked whether a
    process still runs without side effects, so there leftovers stay until removed by
    hand.
    """
    arrays: dict[str, np.ndarray] = {}
    tree = _encode(obj, "", arrays)
    meta = json.dumps({"format": FORMAT, "version": VERSION, "tree": tree})
    arrays[_META] = np.array(meta)  # a unicode array: no pickle needed to read it back
    path = os.fspath(path)
    folder, name = os.path.split(os.path.abspath(path))
    prefix = _temporary_prefix(name)
    _remove_stale_temporaries(folder, prefix)  # first, so that their space is free again
    handle, temporary = _create_temporary(folder, prefix)
    try:
        with os.fdopen(handle, "wb") as file:
            _write_npz(file, arrays)
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.remove(temporary)
        raise


def _write_npz(file, arrays: dict) -> None:
    """What `np.savez_compressed` writes: one deflated `<key>.npy` member per array.
    Written out here because `np.savez_compressed` takes the arrays as keyword arguments,
    so a key such as `file` or `allow_pickle` would be taken for its own parameter."""
    with zipfile.ZipFile(file, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for key, array in arrays.items():
            # force_zip64: the size is not known before writing, and may pass 4 GB
            with archive.open(key + ".npy", "w", force_zip64=True) as member:
                np.lib.format.write_array(member, array, allow_pickle=False)


# --- temporary files of interrupted saves ----------------------------------------------

_STALE_SECONDS = 60


def _temporary_prefix(name: str) -> str:
    """`.tmp-<name>-`, the start of every temporary file of a save to `name`."""
    tag = os.fsdecode(os.fsencode(name)[:200])  # a file name may not pass 255 bytes
    return f".tmp-{tag}-"


def _create_temporary(folder: str, prefix: str) -> tuple[int, str]:
    """A new file `<prefix><pid>-<random>.npz` in `folder`, opened for writing. It is
    created with mode 0o666, so the umask sets its permissions as for any new file."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    for _ in range(100):
        name = os.path.join(folder, f"{prefix}{os.getpid()}-{secrets.token_hex(4)}.npz")
        with contextlib.suppress(FileExistsError):
            return os.open(name, flags, 0o666), name
    raise FileExistsError(f"tg.save: could not create a temporary file in {folder!r}")


def _remove_stale_temporaries(folder: str, prefix: str) -> None:
    """Remove what killed saves to the same file left behind (see `save`)."""
    ours = re.compile(re.escape(prefix) + r"(\d+)-[0-9a-f]{8}\.npz")
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return  # a folder that cannot be listed: the save itself will say what is wrong
    for entry in entries:
        match = ours.fullmatch(entry.name)
        if match and _is_stale(entry, int(match[1])):
            with contextlib.suppress(OSError):  # another save may have removed it already
                os.remove(entry.path)


def _is_stale(entry: os.DirEntry, pid: int) -> bool:
    """Whether a temporary file was left by a killed save: it has not been written to for
    `_STALE_SECONDS` and process `pid`, which wrote it, has ended."""
    try:
        info = entry.stat(follow_symlinks=False)
    except OSError:
        return False  # removed meanwhile
    return (stat.S_ISREG(info.st_mode) and time.time() - info.st_mtime >= _STALE_SECONDS
            and not _process_is_running(pid))


def _process_is_running(pid: int) -> bool:
    """Whether process `pid` runs on this machine; True when that cannot be known."""
    if os.name != "posix":
        return True  # on Windows os.kill(pid, 0) would not ask: it sends Ctrl-C
    try:
        os.kill(pid, 0)  # signal 0 delivers nothing; it only checks that the process exists
    except ProcessLookupError:
        return False
    except (OSError, OverflowError):
        return True  # it exists but belongs to another user, or the id is not a real one
    return True


# --- loading ----------------------------------------------------------------------------

# What zipfile, zlib and NumPy's .npy reader raise on damaged bytes: BadZipFile (a bad
# header, a CRC that does not match the data), zlib.error (a broken deflate stream),
# EOFError (a stream cut short), NotImplementedError and RuntimeError (zip features or
# versions that zipfile does not support), ValueError (a bad .npy header) and OSError (a
# seek outside the file).
_UNREADABLE = (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError,
               ValueError, OSError)

# Deflate turns one compressed byte into at most about 1032 bytes (a 258-byte copy costs
# two bits), so a member that claims more than that is lying about its size.
_DEFLATE_MAX_RATIO = 1032


def load(path):
    """Read a file written by `tg.save`. Tensors come back as Tensors, ndarrays as ndarrays.

    Raises `CheckpointError` (a ValueError) for a file that is not a tinygrad_edu
    checkpoint: a pickle (such as a `torch.save` file), a truncated, corrupt or edited
    file, or some other `.npz`; the message names the file and what is wrong with it.
    Nothing in the file is executed, whatever it holds.

    What a hostile file can cost: only the arrays that the metadata names are read (a
    file with any other member is refused unread), each at most once, and each one's
    size must agree with its zip entry and with what deflate can produce from its
    compressed bytes, so reading never allocates more than the arrays that the file
    really holds: at most 1032 times the file's size, the most that deflate can expand.
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"tg.load: no such file: {path!r}")
    not_ours = f"tg.load: {path!r} is not a tinygrad_edu checkpoint"
    with open(path, "rb") as file:
        head = file.read(4)
        if head[:1] == b"\x80":
            raise CheckpointError(f"{not_ours}: it holds pickled Python objects (a pickle or an "
                                  "old torch.save file). Loading a pickle can run any code it "
                                  "names, so tg.load refuses it.")
        if not head.startswith(b"PK"):
            raise CheckpointError(f"{not_ours}: it is not an .npz (zip) file. Write checkpoints "
                                  "with tg.save(model.state_dict(), path).")
        file.seek(0)
        try:
            archive = zipfile.ZipFile(file)
        except _UNREADABLE as error:
            raise CheckpointError(f"tg.load: {path!r} is truncated or corrupt "
                                  f"({_explain(error)}). Nothing was loaded.") from None
        with archive:
            members = {info.filename: info for info in archive.infolist()}
            _refuse_foreign(members, not_ours)
            reader = _MemberReader(archive, os.fstat(file.fileno()).st_size, path)
            meta = _read_metadata(reader, members[_META + ".npy"], not_ours)
            entries = _tree_entries(meta["tree"], path)
            names = _array_names(entries, members, reader)
            arrays = {name: reader.array(members[name + ".npy"], name, tensor)
                      for name, tensor in names}
    return _build(entries, arrays)


def _damaged(path: str, what: str) -> CheckpointError:
    return CheckpointError(f"tg.load: checkpoint {path!r} is damaged: {what}. Nothing was "
                           "loaded.")


def _explain(error: Exception) -> str:
    """`zlib.error: invalid code lengths set`: the exception's full name and message."""
    name = type(error).__qualname__
    if type(error).__module__ != "builtins":
        name = f"{type(error).__module__}.{name}"
    return f"{name}: {error}" if str(error) else name


def _kind_of(value) -> str:
    """The JSON name of what a metadata value is, for messages (never the value itself,
    which an edited file could make huge)."""
    return {dict: "dict", list: "list", str: "string", bool: "bool", int: "int",
            float: "float", type(None): "null"}.get(type(value), type(value).__name__)


def _refuse_foreign(members: dict, not_ours: str) -> None:
    """A zip that tg.save did not write: a torch.save file, or a plain `.npz`."""
    if any(name.endswith("data.pkl") for name in members):
        raise CheckpointError(
            f"{not_ours}: it is a torch.save file, whose tensors are stored as a pickle. "
            "Load it with torch.load(path, weights_only=True) and convert each tensor with "
            ".numpy(); load_state_dict accepts the arrays.")
    if _META + ".npy" not in members:
        arrays = [_short(name.removesuffix(".npy")) for name in list(members)[:5]]
        raise CheckpointError(
            f"{not_ours}: it is an .npz file without the {_META} entry that tg.save "
            f"writes (its arrays: {', '.join(arrays) or 'none'}). Read plain .npz "
            "files with np.load(path).")


def _read_metadata(reader: _MemberReader, info: zipfile.ZipInfo, not_ours: str) -> dict:
    """The JSON metadata, checked at the top level; `_tree_entries` checks the tree."""
    damaged = lambda what: _damaged(reader.path, "metadata: " + what)
    text = reader.npy(info, "the metadata", "U")
    if text.shape != ():
        raise damaged(f"expected one string, found an array of shape {text.shape}")
    try:
        meta = json.loads(str(text[()]))
    except RecursionError:
        raise damaged("it is nested too deeply to read") from None
    except ValueError as error:  # not JSON, or an integer of more than 4300 digits
        raise damaged(f"it is not valid JSON ({error})") from None
    if not isinstance(meta, dict):
        raise damaged(f"expected a dict at the top level, found {_kind_of(meta)}")
    if meta.get("format") != FORMAT:
        raise CheckpointError(f"{not_ours}: its {_META} entry does not say "
                              f"'format': {FORMAT!r}")
    version = meta.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise damaged(f"expected a whole number from 1 for 'version', found {_kind_of(version)}"
                      + (f" {version}" if isinstance(version, (int, float)) else ""))
    if version > VERSION:
        raise CheckpointError(
            f"tg.load: {reader.path!r} was written by a newer tinygrad_edu (checkpoint format "
            f"{version}; this version reads up to {VERSION}): upgrade")
    unexpected = sorted(set(meta) - {"format", "version", "tree"})
    if unexpected:
        raise damaged(f"unexpected key {_short(unexpected[0])!r} at the top level")
    if "tree" not in meta:
        raise damaged("the key 'tree' is missing at the top level")
    return meta


def _tree_entries(tree, path: str) -> list[tuple[str, object, int]]:
    """Every entry of the metadata tree as (kind, payload, number of children), parents
    before children, each one checked. An explicit stack, not recursion: an edited file
    may nest deeper than Python's recursion limit."""
    entries: list = []
    stack: list = [(tree, None)]
    while stack:
        node, where = stack.pop()
        kind, payload, children = _entry(node, where, path)
        entries.append((kind, payload, len(children)))
        stack.extend(reversed(children))  # so that the first child comes out first
    return entries


def _entry(node, where, path: str):
    """Check one entry of the tree; return its kind, its payload and its children as
    (entry, where) pairs. `where` says where the entry is, for messages: None at the top,
    else (where its parent is, its key or index)."""
    damaged = lambda what: _damaged(path, f"metadata: {what} at {_place(where)}")
    if not isinstance(node, dict):
        raise damaged(f"expected a dict for the entry, found {_kind_of(node)}")
    kinds = [kind for kind in _KINDS if kind in node]
    if len(kinds) != 1:
        raise damaged(f"expected exactly one of the keys {', '.join(_KINDS)}, found "
                      f"{len(kinds)}")
    kind = kinds[0]
    allowed = {"array", "tensor"} if kind == "array" else {kind}
    unexpected = sorted(set(node) - allowed)
    if unexpected:
        raise damaged(f"unexpected key {_short(unexpected[0])!r}")
    body = node[kind]
    if kind == "array":
        tensor = node.get("tensor", False)  # absent: an ndarray
        if not isinstance(body, str) or body == _META:
            raise damaged(f"expected an array name for 'array', found {_kind_of(body)}")
        if not isinstance(tensor, bool):
            raise damaged(f"expected true or false for 'tensor', found {_kind_of(tensor)}")
        return kind, (body, tensor), []
    if kind == "value":
        if body is not None and not isinstance(body, (bool, int, float, str)):
            raise damaged(f"expected a number, string, bool or null, found {_kind_of(body)}")
        return kind, body, []
    if not isinstance(body, list):
        raise damaged(f"expected a list for {kind!r}, found {_kind_of(body)}")
    child = lambda key: (where, key)
    if kind in ("list", "tuple"):
        return kind, None, [(value, child(i)) for i, value in enumerate(body)]
    keys: dict = {}  # a dict, not a set: it keeps the order
    for pair in body:
        if not isinstance(pair, list) or len(pair) != 2:
            raise damaged(f"expected [key, entry] pairs in the dict, found {_kind_of(pair)}"
                          + (f" of length {len(pair)}" if isinstance(pair, list) else ""))
        key = pair[0]
        if not isinstance(key, (str, int)) or isinstance(key, bool):
            raise damaged(f"expected a string or int as a dict key, found {_kind_of(key)}")
        if key in keys:
            raise damaged(f"the key {_short(str(key))!r} appears twice in the dict")
        keys[key] = None
    return kind, list(keys), [(value, child(key)) for key, value in body]


def _place(where) -> str:
    """`'model/0.weight'`: where an entry is, written out only for a message. (A string
    kept for every entry would cost depth x key length each, which an edited file can
    make huge.)"""
    keys = []
    while where is not None:
        where, key = where
        keys.append(str(key))
    if not keys:
        return "the top of the tree"
    text = "/".join(reversed(keys))
    return repr(text if len(text) <= 100 else f"{text[:40]}/.../{text[-50:]}")


def _short(text: str) -> str:
    """`text`, cut short if a file made it long, for a message."""
    return text if len(text) <= 100 else text[:90] + "..."


def _array_names(entries: list, members: dict, reader: _MemberReader) -> list:
    """The (name, tensor) of every array the tree uses, after checking that the file holds
    each of them, once, and nothing else."""
    damaged = lambda what: _damaged(reader.path, what)
    names = [payload for kind, payload, _ in entries if kind == "array"]
    used = set()
    for name, _ in names:
        if name in used:
            raise damaged(f"metadata: the array {_short(name)!r} is used twice; tg.save "
                          "stores every array once")
        if name + ".npy" not in members:
            raise damaged(f"metadata: it names the array {_short(name)!r}, which the file "
                          "does not hold")
        used.add(name)
    unused = sorted(set(members) - {name + ".npy" for name in used} - {_META + ".npy"})
    if unused:
        raise damaged(f"it holds {len(unused)} member(s) that its metadata never names "
                      f"({', '.join(repr(_short(name)) for name in unused[:3])}): tg.save "
                      "writes none, so the file was changed after saving. They were not read")
    compressed = sum(members[name + ".npy"].compress_size for name in [*used, _META])
    if compressed > reader.file_size:  # members that overlap, to be read over and over
        raise damaged(f"its members claim {compressed:,} compressed bytes, more than the "
                      f"whole file ({reader.file_size:,} bytes)")
    return names


class _MemberReader:
    """Reads `.npy` members of one open checkpoint, trusting none of their sizes."""

    def __init__(self, archive: zipfile.ZipFile, file_size: int, path: str):
        self.archive, self.file_size, self.path = archive, file_size, path

    def array(self, info: zipfile.ZipInfo, name: str, tensor: bool):
        """The array `name`, as a Tensor when the metadata says it was one."""
        array = self.npy(info, f"array {_short(name)!r}", "biufc")
        if not tensor:
            return array
        try:
            return Tensor(array)
        except (TypeError, ValueError):  # complex or float16 arrays, for example
            raise _damaged(self.path, f"array {_short(name)!r} is marked as a Tensor, but a "
                                      f"Tensor cannot hold {array.dtype} values") from None

    def npy(self, info: zipfile.ZipInfo, what: str, kinds: str) -> np.ndarray:
        """The array in one member, whose dtype kind must be one of `kinds`.

        First only the .npy header is read, and before anything is allocated the sizes
        must agree: the size that the zip entry declares must fit in the file, be within
        deflate's reach of its compressed bytes and equal the header's size plus
        shape x itemsize. Then NumPy reads the array, with `allow_pickle=False`, a chunk
        at a time; reading the last byte makes zipfile check the CRC, so damaged data is
        never returned.
        """
        damaged = lambda problem: _damaged(self.path, f"{what} {problem}")
        if info.flag_bits & 0x1:
            raise damaged("is encrypted, and tg.save never encrypts")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise damaged(f"is compressed with zip method {info.compress_type}; tg.save only "
                          "uses deflate")
        ratio = 1 if info.compress_type == zipfile.ZIP_STORED else _DEFLATE_MAX_RATIO
        if info.compress_size > self.file_size or info.file_size > ratio * info.compress_size:
            raise damaged(f"claims {info.file_size:,} bytes stored in {info.compress_size:,} "
                          f"compressed bytes of a {self.file_size:,}-byte file, which is "
                          "impossible")
        try:
            with self.archive.open(info) as member:
                shape, _, dtype = self._header(member)
                if dtype.hasobject:
                    raise damaged("holds Python objects, which only pickle could read, and "
                                  "tg.load never unpickles")
                if dtype.kind not in kinds or dtype.fields is not None:
                    raise damaged(f"holds {dtype} values, where tg.save writes "
                                  + ("a string" if kinds == "U" else "numbers"))
                nbytes = dtype.itemsize * math.prod(shape)
                if min(shape, default=0) < 0 or member.tell() + nbytes != info.file_size:
                    raise damaged(f"has the header of a {dtype} array of shape {shape} "
                                  f"({nbytes:,} bytes) but holds "
                                  f"{info.file_size - member.tell():,} bytes of data")
                member.seek(0)  # back to the start: NumPy reads the header again, then the data
                return np.lib.format.read_array(member, allow_pickle=False)
        except CheckpointError:
            raise
        except _UNREADABLE as error:
            verb = "decompressed" if isinstance(error, zlib.error) else "read"
            raise damaged(f"cannot be {verb} ({_explain(error)})") from None

    @staticmethod
    def _header(member) -> tuple[tuple, bool, np.dtype]:
        """The shape, order and dtype in a .npy header. The header is a Python dict literal
        that NumPy reads with `ast` and `tokenize`, which raise all kinds of exceptions on
        garbage (SyntaxError, TypeError, TokenError, ...): each becomes a ValueError."""
        version = np.lib.format.read_magic(member)
        if version not in ((1, 0), (2, 0)):
            raise ValueError(f"it is in .npy format {version}, which tg.save never writes")
        read_header = (np.lib.format.read_array_header_1_0 if version == (1, 0) else
                       np.lib.format.read_array_header_2_0)
        try:
            return read_header(member)
        except _UNREADABLE:
            raise
        except Exception as error:  # see the docstring
            raise ValueError(f"its .npy header cannot be parsed ({_explain(error)})") from None


def _build(entries: list, arrays: dict):
    """The Python value that the checked entries describe. Walked backwards, the entries
    (parents before children) meet every child before its parent: a leaf pushes its
    value, a container pops its children's values (the first child is on top) and pushes
    itself."""
    values: list = []
    for kind, payload, count in reversed(entries):
        if kind == "array":
            values.append(arrays[payload[0]])
        elif kind == "value":
            values.append(payload)
        else:
            children = [values.pop() for _ in range(count)]
            if kind == "dict":
                values.append(dict(zip(payload, children)))
            else:
                values.append(children if kind == "list" else tuple(children))
    return values.pop()
