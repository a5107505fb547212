"""Hostile paths never escape: a raw folder's metadata rows that lead outside the folder, and recipe
archives (tar and zip) with absolute, ``..`` or link members, are refused before anything is read
from outside or written."""

import io
import os
import tarfile
import zipfile

import pandas as pd
import pytest

from astromer import records
from astromer.presets.detect import ArchiveTooLargeError
from astromer.records import sources as S
from astromer.records.archives import ArchiveError, extract
from conftest import run_cli as run

GOOD = "# mjd mag err\n1 15.0 0.1\n2 15.1 0.1\n3 15.2 0.1\n"
SECRET = "1 99.0 0.5\n2 98.0 0.5\n3 97.0 0.5\n4 96.0 0.5\n5 95.0 0.5\n"


# ----------------------------------------------------------------------------------------------
# Raw folder: metadata Path column
# ----------------------------------------------------------------------------------------------

def _raw_folder(tmp_path):
    folder = tmp_path / "raw"
    (folder / "LCs").mkdir(parents=True)
    (folder / "LCs" / "a.dat").write_text(GOOD)
    (folder / "LCs" / "b.dat").write_text(GOOD)
    (folder / "c.dat").write_text(GOOD)   # listed by an absolute path of another machine: read by name
    secret = tmp_path / "secret.dat"
    secret.write_text(SECRET)
    store = tmp_path / "store.dat"
    store.write_text(GOOD)
    os.symlink(store, folder / "LCs" / "link.dat")             # the owner's link to a data store: read
    os.symlink(folder / "LCs" / "b.dat", folder / "LCs" / "inner.dat")  # one staying inside
    pd.DataFrame({
        "ID": ["a", "b", "c", "x1", "x2", "s", "x4"],
        "Class": ["RRL", "CEP", "CEP", "RRL", "RRL", "CEP", "CEP"],
        "Band": ["B", "B", "B", "B", "B", "B", "R"],
        "Path": ["LCs/a.dat", "LCs/../LCs/inner.dat", "/no/such/machine/LCs/c.dat", str(secret), "../secret.dat",
                 "LCs/link.dat", "LCs/../../../../../../../" + str(secret).lstrip("/")],
    }).to_csv(folder / "metadata.csv", index=False)
    return folder, secret


def test_raw_folder_refuses_paths_outside_the_folder_as_counted_drops(tmp_path):
    folder, secret = _raw_folder(tmp_path)
    src = S.raw_folder_source(folder)
    assert sorted(src.items) == ["a", "b", "c", "s"]
    for item in src.items.values():
        for path in item.files.values():
            assert os.path.abspath(path).startswith(str(folder) + os.sep)
    rep = src.report.to_dict()
    assert rep["objects"]["path_outside_folder"] == 3
    examples = rep["examples"]["objects.path_outside_folder"]
    assert examples[0] == f"x1/B (line 5: {str(secret)!r})"
    assert examples[1] == "x2/B (line 6: '../secret.dat')"
    assert examples[2].startswith("x4/R (line 8: 'LCs/../../")


def test_raw_folder_outside_data_never_reaches_the_records(tmp_path):
    folder, _ = _raw_folder(tmp_path)
    code, out, err = run("records", "convert", folder, "-o", tmp_path / "out", "--splits", "none",
                         "--metadata", "metadata.csv", "-q")
    assert code == 0, err
    assert "3 objects dropped: path_outside_folder (e.g. x1/B (line 5:" in out
    meta = records.write_dataset(S.raw_folder_source(folder), tmp_path / "out2", splits="none",
                                 progress=False)
    assert meta["counts"]["objects"] == 4 and meta["counts"]["observations"] == 12
    for rec in records.read_light_curves(tmp_path / "out2").as_numpy_iterator():
        assert rec["object_id"].decode() in {"a", "b", "c", "s"}
        assert (rec["mag"] < 20).all()  # none of the secret's magnitudes


# ----------------------------------------------------------------------------------------------
# Recipe archives
# ----------------------------------------------------------------------------------------------

def _tar(path, entries):
    """``entries``: (name, text) for a file, (name, "->", target) for a symlink, (name, "=>", target)
    for a hard link; the first entry is always a harmless file, so a late refusal would show."""
    with tarfile.open(path, "w") as t:
        for entry in [("lc_1.B.mjd", GOOD)] + list(entries):
            info = tarfile.TarInfo(entry[0])
            if len(entry) == 2:
                data = entry[1].encode()
                info.size = len(data)
                t.addfile(info, io.BytesIO(data))
            else:
                info.type = tarfile.SYMTYPE if entry[1] == "->" else tarfile.LNKTYPE
                info.linkname = entry[2]
                t.addfile(info)
    return path


HOSTILE_TARS = {
    "absolute": ([("/tmp/astromer_abs_escape.mjd", SECRET)],
                 "has an unsafe member path '/tmp/astromer_abs_escape.mjd'; refusing to extract it"),
    "dotdot": ([("../../escape.mjd", SECRET)],
               "has an unsafe member ('../../escape.mjd' would be extracted to"),
    "dotdot_inside": ([("sub/../lc_2.B.mjd", SECRET)],
                      "has an unsafe member path 'sub/../lc_2.B.mjd'; refusing to extract it"),
    "symlink_absolute": ([("lc_9.B.mjd", "->", "/etc/passwd")],
                         "has an unsafe member ('lc_9.B.mjd' is a link to an absolute path)"),
    "symlink_relative": ([("lc_9.B.mjd", "->", "../../../../etc/hostname")],
                         "has an unsafe member ('lc_9.B.mjd' would link to"),
    "hardlink": ([("lc_9.B.mjd", "=>", "/etc/passwd")],
                 "has an unsafe member ('lc_9.B.mjd' is a link to an absolute path)"),
    "symlink_dir": ([("sub", "->", "/tmp"), ("sub/astromer_symdir_escape.mjd", SECRET)],
                    "has an unsafe member ('sub' is a link to an absolute path)"),
    "link_chain": ([("a", "->", "."), ("b", "->", "a/.."), ("b/escape.mjd", SECRET)],
                   "has an unsafe member ('b' links to 'a/..', outside the destination)"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE_TARS))
def test_recipe_tar_refused_from_headers_before_anything_is_extracted(case, tmp_path):
    entries, message = HOSTILE_TARS[case]
    archive = _tar(tmp_path / f"{case}.tar", entries)
    out = tmp_path / "dl"
    with pytest.raises(ArchiveError) as info:
        extract(archive, out)
    assert str(info.value).startswith(f"{archive} {message}"), str(info.value)
    assert "\n" not in str(info.value)
    assert not out.exists() or os.listdir(out) == []  # not even the harmless first member
    assert not os.path.exists("/tmp/astromer_abs_escape.mjd")
    assert not os.path.exists("/tmp/astromer_symdir_escape.mjd")
    assert not (tmp_path / "escape.mjd").exists()


def test_recipe_tar_bomb_refused_from_headers_before_anything_is_extracted(tmp_path, monkeypatch):
    monkeypatch.setenv("ASTROMER_ZIP_MAX_MEMBERS", "3")
    monkeypatch.setattr("astromer.records.archives.DATA_MAX_MEMBERS", 3)
    archive = _tar(tmp_path / "many.tar", [(f"lc_{k}.B.mjd", GOOD) for k in range(2, 10)])
    with pytest.raises(ArchiveTooLargeError,
                       match=r"many.tar has at least 4 members expanding to at least \d+ bytes, more than the "
                             r"limits \(3 members, [\d,]+ bytes\); refusing to extract it"):
        extract(archive, tmp_path / "dl")
    assert not (tmp_path / "dl").exists()


def test_recipe_tar_with_safe_links_extracts_and_merges(tmp_path):
    archive = _tar(tmp_path / "ok.tar", [("d/lc_2.B.mjd", GOOD), ("lc_3.B.mjd", "->", "d/lc_2.B.mjd"),
                                         ("e", "->", "d"), ("lc_4.B.mjd", "=>", "d/lc_2.B.mjd")])
    out = tmp_path / "dl"
    (out / "d").mkdir(parents=True)
    (out / "d" / "kept.txt").write_text("mine")
    extract(archive, out)
    assert sorted(os.listdir(out)) == [".extracted-ok.tar", "d", "e", "lc_1.B.mjd", "lc_3.B.mjd", "lc_4.B.mjd"]
    assert sorted(os.listdir(out / "d")) == ["kept.txt", "lc_2.B.mjd"]
    assert (out / "lc_3.B.mjd").read_text() == GOOD and os.path.islink(out / "lc_3.B.mjd")
    assert (out / "e" / "lc_2.B.mjd").read_text() == GOOD
    assert (out / "lc_4.B.mjd").read_text() == GOOD


def test_recipe_zip_refused_while_streaming_leaves_nothing_behind(tmp_path):
    archive = tmp_path / "bad.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("lc_1.B.mjd", GOOD)
        zf.writestr("lc_2.B.mjd", SECRET * 50)
    data = bytearray(archive.read_bytes())
    info = zipfile.ZipFile(archive).getinfo("lc_2.B.mjd")
    start = info.header_offset + 30 + len(info.filename) + len(info.extra)
    for k in range(start + 5, start + 15):  # corrupt the second member's compressed data
        data[k] ^= 0xFF
    archive.write_bytes(bytes(data))
    out = tmp_path / "dl"
    with pytest.raises(ValueError, match=r"bad.zip is corrupted: member 'lc_2.B.mjd' cannot be read"):
        extract(archive, out)
    assert os.listdir(out) == []  # the first member, already out, is gone with the staging folder


def test_recipe_zip_with_an_absolute_member_is_refused(tmp_path):
    archive = tmp_path / "abs.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("lc_1.B.mjd", GOOD)
        zf.writestr("/tmp/astromer_zip_abs.mjd", SECRET)
    with pytest.raises(ValueError, match=r"abs.zip has an unsafe member path '/tmp/astromer_zip_abs.mjd'"):
        extract(archive, tmp_path / "dl")
    assert not (tmp_path / "dl").exists() or os.listdir(tmp_path / "dl") == []
    assert not os.path.exists("/tmp/astromer_zip_abs.mjd")


def test_a_file_over_another_archives_folder_is_refused_not_deleted(tmp_path):
    """Two archives unpacked into one download folder: a file named like the other's folder is
    refused, and that folder keeps its files; a killed run's staging folder is cleared."""
    into = tmp_path / "dl"
    (into / "data").mkdir(parents=True)
    (into / "data" / "keep.csv").write_text("x\n")
    (into / ".extracting-b.tar-dead").mkdir()
    archive = tmp_path / "b.tar"
    member = tmp_path / "data"
    member.write_text("a file now\n")
    with tarfile.open(archive, "w") as t:
        t.add(member, arcname="data")
    with pytest.raises(ArchiveError, match=r"cannot unpack 'data' into .*: a folder of that name is already there"):
        extract(archive, into)
    assert (into / "data" / "keep.csv").read_text() == "x\n"
    assert sorted(p.name for p in into.iterdir()) == ["data"]
