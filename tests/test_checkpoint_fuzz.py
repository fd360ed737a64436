"""tg.load against hostile files: damaged bytes, hand-edited metadata and zip bombs.

Whatever the file, `tg.load` either returns exactly what was saved or raises a
CheckpointError that names the file; never any other exception, and never much memory
for a small file. The byte fuzzing is deterministic (seeded samples). Each fuzz test
tries TINYGRAD_EDU_FUZZ_EXAMPLES damaged files (default 1500, a few seconds); set it
higher for a longer hunt, e.g. TINYGRAD_EDU_FUZZ_EXAMPLES=100000.
"""

from __future__ import annotations

import collections
import copy
import io
import json
import os
import random
import struct
import tracemalloc
import zipfile

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import nn

META = "__tinygrad_edu__"
EXAMPLES = int(os.environ.get("TINYGRAD_EDU_FUZZ_EXAMPLES", "1500"))


def checkpoint():
    """A real checkpoint: a model's state dict, Adam's state after one step, and values."""
    tg.manual_seed(3)
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2))
    optimizer = tg.optim.Adam(model.parameters(), lr=0.01)
    model(tg.randn(5, 3)).sum().backward()
    optimizer.step()
    return {"model": model.state_dict(), "optimizer": optimizer.state_dict(), "epoch": 3,
            "name": "run", "done": False, "nothing": None, "betas": (0.9, 0.999),
            "steps": np.arange(4, dtype=np.int64)}


def same(a, b) -> bool:
    """Equal values of equal types, arrays bit for bit."""
    if type(a) is not type(b):
        return False
    if isinstance(a, tg.Tensor):
        a, b = a.numpy(), b.numpy()
    if isinstance(a, np.ndarray):
        return a.dtype == b.dtype and a.shape == b.shape and np.array_equal(a, b)
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[key], b[key]) for key in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return a == b


def recompressed(source, path, compression):
    """`source`'s members written into `path` with another zip compression."""
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(path, "w", compression) as new:
        for name in old.namelist():
            new.writestr(name, old.read(name))


def outcome(path, expected):
    """'loaded' (only with exactly the saved contents), 'refused', or what went wrong."""
    try:
        value = tg.load(path)
    except tg.CheckpointError as error:
        return "refused" if path.name in str(error) else f"unnamed file: {error}"
    except Exception as error:  # any other type is the failure sought
        return f"{type(error).__name__}: {error}"
    return "loaded" if same(value, expected) else "loaded different contents"


def sample(cases: list, budget: int) -> list:
    return cases if len(cases) <= budget else sorted(random.Random(0).sample(cases, budget))


def run_cases(cases, tmp_path, expected):
    """Write each (description, bytes) to a file and load it; a count of the outcomes and
    the cases that went wrong."""
    path = tmp_path / "damaged.npz"
    counts, wrong = collections.Counter(), []
    for description, data in cases:
        path.write_bytes(data)
        result = outcome(path, expected)
        counts[result if result in ("loaded", "refused") else "wrong"] += 1
        if result not in ("loaded", "refused"):
            wrong.append(f"{description}: {result}"[:300])
    return counts, wrong


@pytest.fixture(params=[zipfile.ZIP_DEFLATED, zipfile.ZIP_STORED], ids=["deflated", "stored"])
def saved(request, tmp_path):
    """A checkpoint as tg.save writes it (deflated), or rewritten with every member stored
    as np.savez does, which lays the .npy headers and the JSON bare to the damage."""
    path = tmp_path / "saved.npz"
    tg.save(checkpoint(), path)
    if request.param == zipfile.ZIP_STORED:
        recompressed(tmp_path / "saved.npz", tmp_path / "stored.npz", zipfile.ZIP_STORED)
        path = tmp_path / "stored.npz"
    return path.read_bytes(), tg.load(path)


def test_every_one_byte_change_is_refused_or_changes_nothing_that_was_saved(saved, tmp_path):
    data, expected = saved
    cases = [(position, value) for position in range(len(data))
             for value in (data[position] ^ 0x01, data[position] ^ 0x80, 0x00, 0xFF)
             if value != data[position]]
    cases = [(f"byte {position} set to {value:#04x}",
              data[:position] + bytes([value]) + data[position + 1:])
             for position, value in sample(cases, EXAMPLES)]
    counts, wrong = run_cases(cases, tmp_path, expected)
    print(f"\n{len(data)}-byte file, {len(cases)} one-byte changes: {dict(counts)}")
    assert not wrong, f"{len(wrong)} of {len(cases)} went wrong, e.g.\n" + "\n".join(wrong[:10])
    # most bytes are data under a CRC or structure: a test where nothing is refused is broken
    assert counts["refused"] > len(cases) / 2


def test_every_truncation_is_refused(saved, tmp_path):
    data, expected = saved
    lengths = sample(list(range(len(data))), EXAMPLES)
    cases = [(f"the first {n} bytes", data[:n]) for n in lengths]
    counts, wrong = run_cases(cases, tmp_path, expected)
    assert not wrong, f"{len(wrong)} of {len(cases)} went wrong, e.g.\n" + "\n".join(wrong[:10])
    assert counts["refused"] == len(cases)


# --- hand-edited metadata ----------------------------------------------------------------

def npy_bytes(array) -> bytes:
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, np.asarray(array), allow_pickle=False)
    return buffer.getvalue()


def write_members(path, members: dict):
    """A zip of `members` (name -> bytes), written as given."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)


def rewrite(path, meta, arrays: dict):
    """A checkpoint of `arrays` (name -> array) with `meta` as its metadata: JSON text, a
    value for json.dumps, or an array stored as it is."""
    if not isinstance(meta, np.ndarray):
        meta = np.array(meta if isinstance(meta, str) else json.dumps(meta))
    write_members(path, {**{f"{name}.npy": npy_bytes(a) for name, a in arrays.items()},
                         f"{META}.npy": npy_bytes(meta)})


def entries(node, steps=()):
    """(steps from the root, entry) for every entry of a metadata tree."""
    found, stack = [], [(node, steps)]
    while stack:
        node, steps = stack.pop()
        found.append((steps, node))
        for kind in ("list", "tuple"):
            stack += [(child, (*steps, kind, i)) for i, child in enumerate(node.get(kind, []))]
        stack += [(pair[1], (*steps, "dict", i, 1)) for i, pair in enumerate(node.get("dict", []))]
    return found


def edited(meta, steps, replacement):
    """A copy of `meta` whose part at `steps` (keys and indices) is `replacement`."""
    if not steps:
        return replacement
    meta = copy.deepcopy(meta)
    parent = meta
    for step in steps[:-1]:
        parent = parent[step]
    parent[steps[-1]] = replacement
    return meta


def nested(depth: int, inner: str, opening: str, closing: str) -> str:
    return opening * depth + inner + closing * depth


def entry_edits(node):
    """(what, replacement) for one entry of the tree; tg.save writes none of them."""
    edits = [(f"{wrong!r} as the entry", wrong) for wrong in ([], "x", 7, 1.5, None, True, {})]
    edits.append(("an extra key", {**node, "x": 1}))
    edits.append(("two kinds", {**node, "list": []} if "value" in node else {**node, "value": 1}))
    if "array" in node:
        edits += [(f"array {name!r}", {**node, "array": name})
                  for name in (7, None, ["x"], "no such array", META)]
        edits += [(f"tensor {flag!r}", {**node, "tensor": flag}) for flag in ("yes", 1, None)]
        edits.append(("no 'array'", {"tensor": True}))
    if "value" in node:
        edits += [(f"value {value!r}", {"value": value}) for value in ([1], {"a": 1})]
    for kind in ("list", "tuple"):
        if kind in node:
            edits += [(f"{kind} {value!r}", {kind: value}) for value in ({}, "ab", 5, None)]
    if node.get("dict"):
        pairs = node["dict"]
        (key, first), rest = pairs[0], pairs[1:]
        edits += [(f"dict {value!r}", {"dict": value})
                  for value in ({}, "ab", 5, [1, 2], [[]], [["k"]])]
        edits += [(f"key {wrong!r}", {"dict": [[wrong, first], *rest]})
                  for wrong in (None, 1.5, True, [1], {"a": 1}, 1e20)]
        edits.append(("a pair of three", {"dict": [[key, first, 1], *rest]}))
        edits.append(("a key twice", {"dict": [*pairs, [key, {"value": 1}]]}))
        if "array" in first:
            edits.append(("an array entry removed, its array left in the file", {"dict": rest}))
    return edits


def metadata_edits(meta):
    """(description, edited metadata) pairs: none of them is anything tg.save writes."""
    edits = [("a list at the top", [meta]), ("a string at the top", "checkpoint"),
             ("null at the top", None), ("a number at the top", 1)]
    for key in ("format", "version", "tree"):
        edits.append((f"no {key!r}", {k: v for k, v in meta.items() if k != key}))
    edits.append(("an extra top-level key", {**meta, "extra": 1}))
    for version in ("1", 1.0, True, 0, -1, None, [1], 10**30, 1e400):
        edits.append((f"version {version!r}", {**meta, "version": version}))
    for value in ("other", 1, None, ["tinygrad_edu checkpoint"]):
        edits.append((f"format {value!r}", {**meta, "format": value}))
    for steps, node in entries(meta["tree"], ("tree",)):
        at = "/".join(map(str, steps))
        edits += [(f"{what} at {at}", edited(meta, steps, replacement))
                  for what, replacement in entry_edits(node)]
    # the model's first weight used a second time, in place of the epoch
    model, epoch = meta["tree"]["dict"][0], meta["tree"]["dict"][2]
    assert (model[0], epoch[0]) == ("model", "epoch")
    edits.append(("an array used twice", edited(meta, ("tree", "dict", 2, 1),
                                                model[1]["dict"][0][1])))
    # deep nesting, 10000 levels, in the tree, in a value and around everything
    deep, text, tree = 10_000, json.dumps(meta), json.dumps(meta["tree"])
    edits.append(("10000 nested lists as the tree", text.replace(
        tree, nested(deep, '{"value": 1}', '{"list": [', "]}"))))
    edits.append(("10000 nested dicts as the tree", text.replace(
        tree, nested(deep, '{"value": 1}', '{"dict": [["a", ', "]]}"))))
    edits.append(("10000 nested lists as a value", text.replace(
        '{"value": 3}', '{"value": ' + nested(deep, "1", "[", "]") + "}")))
    edits.append(("10000 nested lists around it all", nested(deep, text, "[", "]")))
    # huge numbers, and text that is not JSON at all
    edits.append(("an int of 5000 digits", text.replace('{"value": 3}',
                                                       '{"value": ' + "9" * 5000 + "}")))
    for junk in ("", "{", "not json", "\0", "NaN", "[1, 2"):
        edits.append((f"metadata {junk!r}", junk))
    return edits


def test_every_hand_edited_metadata_is_refused(tmp_path):
    tg.save(checkpoint(), tmp_path / "saved.npz")
    with np.load(tmp_path / "saved.npz", allow_pickle=False) as npz:
        arrays = {name: npz[name] for name in npz.files if name != META}
        meta = json.loads(str(npz[META]))
    path = tmp_path / "edited.npz"
    rewrite(path, meta, arrays)
    assert same(tg.load(path), tg.load(tmp_path / "saved.npz"))  # the harness alone changes nothing
    edits = metadata_edits(meta)
    wrong = []
    for description, edit in edits:
        rewrite(path, edit, arrays)
        result = outcome(path, None)
        if result != "refused":
            wrong.append(f"{description}: {result}"[:300])
    assert not wrong, f"{len(wrong)} of {len(edits)} edits were not refused:\n" + "\n".join(wrong)


@pytest.mark.parametrize("meta", [
    np.array(3.0), np.array(["a", "b"]), np.array(b"bytes"), np.zeros((2, 2)),
    np.array([1, 2], dtype=[("a", "<i4")]),
], ids=["float", "two strings", "bytes", "matrix", "structured"])
def test_metadata_that_is_not_one_string_is_refused(tmp_path, meta):
    rewrite(tmp_path / "edited.npz", meta, {})
    with pytest.raises(tg.CheckpointError, match="edited.npz.*metadata"):
        tg.load(tmp_path / "edited.npz")


@pytest.mark.parametrize("array, problem", [
    (np.array(["text"]), "holds <U4 values"),
    (np.array([1, 2], dtype="datetime64[s]"), "holds datetime64"),
    (np.zeros(2, dtype=[("a", "<f4"), ("b", "<f4")]), "holds"),
    (np.array([1 + 2j]), "is marked as a Tensor, but a Tensor cannot hold complex128"),
    (np.ones(2, dtype=np.float16), "is marked as a Tensor, but a Tensor cannot hold float16"),
])
def test_arrays_no_checkpoint_holds_are_refused(tmp_path, array, problem):
    meta = {"format": "tinygrad_edu checkpoint", "version": 1,
            "tree": {"array": "a", "tensor": True}}
    rewrite(tmp_path / "edited.npz", meta, {"a": array})
    with pytest.raises(tg.CheckpointError, match=f"edited.npz.*array 'a' {problem}"):
        tg.load(tmp_path / "edited.npz")


def test_a_tree_nested_deeper_than_the_recursion_limit_can_still_be_built(tmp_path):
    # 400 lists inside each other: JSON reads it, and building it must not recurse
    depth = 400
    meta = ('{"format": "tinygrad_edu checkpoint", "version": 1, "tree": '
            + nested(depth, '{"value": 1}', '{"list": [', "]}") + "}")
    rewrite(tmp_path / "deep.npz", meta, {})
    value = tg.load(tmp_path / "deep.npz")
    for _ in range(depth):
        assert isinstance(value, list) and len(value) == 1
        value = value[0]
    assert value == 1


# --- memory: what a small file can make tg.load allocate --------------------------------

def peak_while(function):
    """Run `function`; its result (or the exception it raised) and the peak memory it
    allocated, NumPy's arrays included (NumPy reports them to tracemalloc)."""
    tracemalloc.start()
    try:
        try:
            result = function()
        except Exception as error:  # returned for the test to check
            result = error
        return result, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def npy_header(dtype: str, shape: tuple) -> bytes:
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        buffer, {"descr": dtype, "fortran_order": False, "shape": shape})
    return buffer.getvalue()


def test_a_member_the_metadata_never_names_is_never_decompressed(tmp_path):
    path = tmp_path / "bomb.npz"
    tg.save({"w": np.ones(3)}, path)
    with zipfile.ZipFile(path, "a", zipfile.ZIP_DEFLATED) as archive:
        with archive.open("huge.npy", "w", force_zip64=True) as member:
            member.write(npy_header("<f8", (25 * 2**20,)))  # 200 MB of zeros
            for _ in range(200):
                member.write(bytes(2**20))
    assert path.stat().st_size < 400_000
    error, peak = peak_while(lambda: tg.load(path))
    assert isinstance(error, tg.CheckpointError) and "huge.npy" in str(error), error
    assert "bomb.npz" in str(error)
    assert peak < 10 * 2**20, f"loading a {path.stat().st_size:,}-byte file took {peak:,} bytes"


def small_file_claiming(tmp_path, shape, dtype="<f8", body=b"\0" * 16):
    """A checkpoint whose one array has a header claiming `shape` but holds `body`."""
    meta = json.dumps({"format": "tinygrad_edu checkpoint", "version": 1,
                       "tree": {"array": "a", "tensor": False}})
    path = tmp_path / "claims.npz"
    write_members(path, {"a.npy": npy_header(dtype, shape) + body,
                         f"{META}.npy": npy_bytes(np.array(meta))})
    return path


def test_an_array_header_claiming_more_than_the_member_holds_allocates_nothing(tmp_path):
    path = small_file_claiming(tmp_path, (10**10,))  # 80 GB, says the header
    error, peak = peak_while(lambda: tg.load(path))
    assert isinstance(error, tg.CheckpointError) and "array 'a'" in str(error), error
    assert peak < 10 * 2**20


def patch_central_directory(path, name: str, **fields):
    """Overwrite `compress_size` or `file_size` of `name` in the zip's central directory
    (where zipfile reads them), as someone crafting a zip bomb would."""
    data = bytearray(path.read_bytes())
    start = data.rindex(name.encode()) - 46  # the central directory comes last
    assert data[start:start + 4] == b"PK\x01\x02"
    offsets = {"compress_size": 20, "file_size": 24}
    for field, value in fields.items():
        struct.pack_into("<I", data, start + offsets[field], value)
    path.write_bytes(bytes(data))


def test_a_size_that_deflate_cannot_produce_is_refused_before_allocating(tmp_path):
    # header and zip entry agree on 256 MB, but 30-odd compressed bytes cannot hold that
    path = small_file_claiming(tmp_path, (2**28,), "|u1")
    patch_central_directory(path, "a.npy", file_size=len(npy_header("|u1", (2**28,))) + 2**28)
    error, peak = peak_while(lambda: tg.load(path))
    assert isinstance(error, tg.CheckpointError) and "impossible" in str(error), error
    assert peak < 10 * 2**20


def test_compressed_sizes_beyond_the_file_are_refused(tmp_path):
    path = tmp_path / "c.npz"
    tg.save({"w": np.ones(3), "v": np.zeros(4)}, path)
    patch_central_directory(path, "w.npy", compress_size=path.stat().st_size - 1)
    with pytest.raises(tg.CheckpointError, match="c.npz.*more than the whole file"):
        tg.load(path)


def test_a_deep_tree_with_long_keys_costs_about_its_own_size(tmp_path):
    # 200 dicts inside each other, each key 10,000 characters: 2 MB of JSON. A path
    # string kept for each entry ("key/key/...") would take 200 MB.
    depth, key = 200, "k" * 10_000
    meta = ('{"format": "tinygrad_edu checkpoint", "version": 1, "tree": '
            + nested(depth, '{"value": 1}', '{"dict": [["' + key + '", ', "]]}") + "}")
    rewrite(tmp_path / "deep.npz", meta, {})
    value, peak = peak_while(lambda: tg.load(tmp_path / "deep.npz"))
    for _ in range(depth):
        value = value[key]
    assert value == 1
    assert peak < 50 * 2**20, f"{peak:,} bytes"
