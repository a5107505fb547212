"""astromer.io: the one sha256, atomic-write and download implementation."""

import ast
import hashlib
import json

import pytest

import astromer
from astromer import io


def _leftovers(folder, keep):
    return sorted(p.name for p in folder.iterdir() if p.name not in keep)


def test_sha256_of_matches_hashlib(tmp_path):
    data = bytes(range(256)) * 5000  # > one chunk
    path = tmp_path / "f.bin"
    path.write_bytes(data)
    assert io.sha256_of(path) == hashlib.sha256(data).hexdigest()
    assert io.sha256_of(path, chunk=7) == hashlib.sha256(data).hexdigest()
    (tmp_path / "empty").write_bytes(b"")
    assert io.sha256_of(tmp_path / "empty") == hashlib.sha256(b"").hexdigest()


def test_atomic_writes_replace_and_leave_no_temp_file(tmp_path):
    path = tmp_path / "sub" / "a.json"
    io.atomic_write_json(path, {"a": 1})
    assert json.loads(path.read_text()) == {"a": 1} and path.read_text().endswith("\n")
    io.atomic_write_json(path, {"a": 2})
    assert json.loads(path.read_text()) == {"a": 2}
    io.atomic_write_text(tmp_path / "sub" / "t.txt", "héllo")
    assert (tmp_path / "sub" / "t.txt").read_text(encoding="utf-8") == "héllo"
    io.atomic_write_bytes(tmp_path / "sub" / "b.bin", b"\x00\x01")
    assert (tmp_path / "sub" / "b.bin").read_bytes() == b"\x00\x01"
    assert _leftovers(tmp_path / "sub", ()) == ["a.json", "b.bin", "t.txt"]


def test_failed_writes_keep_the_old_file_and_leave_no_temp_file(tmp_path):
    path = tmp_path / "a.json"
    io.atomic_write_json(path, {"old": True})
    with pytest.raises(TypeError):
        io.atomic_write_json(path, {"bad": object()})
    with pytest.raises(TypeError):
        io.atomic_write_bytes(path, "not bytes")
    with pytest.raises(RuntimeError), io.atomic_path(path) as tmp:  # dies half-way through a stream
        tmp.write_bytes(b"partial")
        raise RuntimeError("interrupted")
    assert json.loads(path.read_text()) == {"old": True}
    assert _leftovers(tmp_path, ()) == ["a.json"]
    assert io.read_json_or_none(path) == {"old": True}
    (tmp_path / "broken.json").write_text("{")
    assert io.read_json_or_none(tmp_path / "broken.json") is None
    assert io.read_json_or_none(tmp_path / "missing.json") is None


def test_atomic_copy_and_atomic_dir(tmp_path):
    (tmp_path / "src").write_bytes(b"abc")
    io.atomic_copy(tmp_path / "src", tmp_path / "out" / "dst")
    assert (tmp_path / "out" / "dst").read_bytes() == b"abc"
    folder = tmp_path / "preset"
    with io.atomic_dir(folder) as tmp:
        (tmp / "x").write_text("1")
    with pytest.raises(RuntimeError), io.atomic_dir(folder) as tmp:
        (tmp / "x").write_text("2")
        raise RuntimeError("interrupted")
    assert (folder / "x").read_text() == "1"
    with io.atomic_dir(folder) as tmp:
        (tmp / "y").write_text("3")
    assert sorted(p.name for p in folder.iterdir()) == ["y"]
    assert _leftovers(tmp_path, ()) == ["out", "preset", "src"]


def test_download_file_url_checks_sha256_and_size(tmp_path):
    data = b"records " * 10_000
    source = tmp_path / "www" / "data.bin"
    source.parent.mkdir()
    source.write_bytes(data)
    url = source.as_uri()
    good = hashlib.sha256(data).hexdigest()
    dl = tmp_path / "dl"

    out = io.download(url, dl / "data.bin", sha256=good, size=len(data), progress=False)
    assert out == dl / "data.bin" and out.read_bytes() == data

    with pytest.raises(io.IntegrityError, match="sha256") as info:
        io.download(url, dl / "bad.bin", sha256="0" * 64, progress=False)
    assert url in str(info.value)
    assert isinstance(info.value, astromer.AstromerError) and isinstance(info.value, ValueError)
    with pytest.raises(io.IntegrityError, match="bytes") as info:
        io.download(url, dl / "short.bin", size=len(data) + 1, progress=False)
    assert url in str(info.value)
    with pytest.raises(OSError):
        io.download((tmp_path / "www" / "missing.bin").as_uri(), dl / "missing.bin", progress=False)
    assert _leftovers(dl, ()) == ["data.bin"]  # neither a destination nor a temporary file

    # a failed download leaves an existing destination as it was
    (dl / "data.bin").write_bytes(b"old")
    with pytest.raises(io.IntegrityError):
        io.download(url, dl / "data.bin", sha256="0" * 64, progress=False)
    assert (dl / "data.bin").read_bytes() == b"old" and _leftovers(dl, ()) == ["data.bin"]


def test_callers_share_the_one_implementation():
    from astromer.presets import download as presets_download
    from astromer.records import output_folder, recipes, verify

    assert presets_download.sha256_of is io.sha256_of is recipes.sha256_of is output_folder.sha256_file
    assert verify.sha256_file is io.sha256_of
    assert presets_download.download is io.download
    assert presets_download.IntegrityError is io.IntegrityError


def test_io_imports_nothing_from_astromer_but_errors():
    tree = ast.parse(open(io.__file__, encoding="utf-8").read())
    imported = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    imported |= {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    assert {m for m in imported if m.startswith("astromer")} == {"astromer.errors"}


def test_recipe_download_reuses_a_good_file_and_raises_recipe_error(tmp_path):
    from astromer.records.recipes import RecipeError, download

    source = tmp_path / "www" / "d.csv"
    source.parent.mkdir()
    source.write_bytes(b"a,b\n1,2\n")
    good = hashlib.sha256(b"a,b\n1,2\n").hexdigest()
    dest = tmp_path / "dl" / "d.csv"
    assert download(source.as_uri(), dest, sha256=good, progress=False).read_bytes() == b"a,b\n1,2\n"
    source.unlink()  # a verified file already there is not downloaded again
    assert download(source.as_uri(), dest, sha256=good, progress=False) == dest
    with pytest.raises(RecipeError, match="download of .*d.csv failed"):
        download(source.as_uri(), tmp_path / "dl" / "e.csv", progress=False)
    source.write_bytes(b"changed")
    with pytest.raises(RecipeError, match="sha256") as info:
        download(source.as_uri(), tmp_path / "dl" / "f.csv", sha256=good, progress=False)
    assert source.as_uri() in str(info.value)
    assert sorted(p.name for p in (tmp_path / "dl").iterdir()) == ["d.csv"]
