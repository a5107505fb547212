"""Loading is safe by default: unverifiable preset folders are refused, zip archives are capped before
and while they are extracted, and every "not recognised" message lists every format the loader knows."""

import json
import struct
import time
import zipfile
import zlib

import h5py
import numpy as np
import pytest

import astromer
from astromer.presets import detect, loader
from astromer.presets.preset_format import CorruptedPresetError, UnverifiedPresetError, load_saved_preset
from conftest import require_shared
from torch_zip_writer import write_torch_zip

MIB = 1 << 20


def _tiny_astromer():
    return astromer.Astromer(num_layers=1, num_heads=2, head_dim=8, ffn_dim=16, window_size=16)


def _x():
    rng = np.random.default_rng(0)
    return {"times": np.sort(rng.uniform(0, 30, (2, 16)), axis=1).astype("float32"),
            "magnitudes": rng.normal(size=(2, 16)).astype("float32"), "mask": np.ones((2, 16), "float32")}


def _alter_a_weight(weights_file):
    """Change one stored weight value in place (the h5 file stays valid: a silent corruption)."""
    with h5py.File(weights_file, "r+") as f:
        datasets = []
        f.visititems(lambda name, obj: datasets.append(obj) if isinstance(obj, h5py.Dataset) and obj.size > 4 else None)
        data = datasets[0]
        values = data[...]
        values.flat[0] += 100.0
        data[...] = values


# ----------------------------------------------------------------------------- preset folders without checksums
def test_altered_preset_without_metadata_is_refused(tmp_path):
    model = _tiny_astromer()
    folder = astromer.save_preset(model, tmp_path / "p")
    _alter_a_weight(folder / "model.weights.h5")
    # With metadata.json the alteration is caught by its checksum ...
    with pytest.raises(CorruptedPresetError, match=r"model\.weights\.h5 is corrupted \(sha256"):
        astromer.load_preset(folder)
    # ... and without it, it is refused rather than loaded unchecked.
    (folder / "metadata.json").unlink()
    expected = (
        f"Preset {folder} has no metadata.json, so its files' checksums are unknown and corrupted weights would "
        f"load silently; re-create it with astromer.save_preset(model, {str(folder)!r}) from the model that "
        "wrote it, or, if you trust its files, load it with astromer.presets.load_saved_preset(folder, verify=False)."
    )
    for load in (astromer.load_preset, astromer.Astromer.from_preset, load_saved_preset):
        with pytest.raises(UnverifiedPresetError) as info:
            load(folder)
        assert str(info.value) == expected
    # The explicit opt-out loads it, and the weights are indeed not the saved ones.
    altered = load_saved_preset(folder, verify=False)
    assert not np.array_equal(np.asarray(altered(_x())), np.asarray(model(_x())))


def test_metadata_without_checksums_is_refused(tmp_path):
    folder = astromer.save_preset(_tiny_astromer(), tmp_path / "p")
    meta = json.loads((folder / "metadata.json").read_text())
    del meta["files"]["model.weights.h5"]
    (folder / "metadata.json").write_text(json.dumps(meta))
    with pytest.raises(UnverifiedPresetError, match=r"metadata.json records no sha256 for model.weights.h5; re-create"):
        astromer.load_preset(folder)
    (folder / "metadata.json").write_text("[1, 2]")
    with pytest.raises(CorruptedPresetError, match="holds a JSON list, not the metadata object"):
        astromer.load_preset(folder)


def test_saved_presets_still_load(tmp_path):
    model = _tiny_astromer()
    folder = astromer.save_preset(model, tmp_path / "p")
    np.testing.assert_array_equal(np.asarray(astromer.load_preset(folder)(_x())), np.asarray(model(_x())))


def test_cached_named_preset_without_metadata_is_converted_again(tmp_path, monkeypatch):
    monkeypatch.setenv("ASTROMER_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("ASTROMER_MIRROR", str(require_shared("weights", "astromer")))
    monkeypatch.delenv("ASTROMER_OFFLINE", raising=False)
    first = astromer.load_preset("astromer_v1", progress=False)
    cached = tmp_path / "home" / "presets" / "astromer_v1"
    _alter_a_weight(cached / "model.weights.h5")
    (cached / "metadata.json").unlink()
    again = astromer.load_preset("astromer_v1", progress=False)  # no checksum to trust: converted afresh
    assert (cached / "metadata.json").is_file()
    for a, b in zip(first.get_weights(), again.get_weights()):
        np.testing.assert_array_equal(a, b)


# ----------------------------------------------------------------------------- zip limits
def zip_of_zeros(path, members):
    """Write a zip by hand: ``members`` maps names to bytes (stored) or to a count of MiB of zero bytes
    (deflated, built from one compressed MiB repeated, so a 1 GiB member costs ~1 MB and no time).
    A name ending in ``!N`` records N bytes in the headers instead of the truth (a lying header)."""
    local, central = b"", b""
    for name, content in members.items():
        name, _, declared = name.partition("!")
        if isinstance(content, int):
            co = zlib.compressobj(9, zlib.DEFLATED, -15)
            first = co.compress(bytes(MIB)) + co.flush(zlib.Z_FULL_FLUSH)
            block = co.compress(bytes(MIB)) + co.flush(zlib.Z_FULL_FLUSH)
            data = first + block * (content - 1) + co.flush()
            crc = 0
            for _ in range(content):
                crc = zlib.crc32(bytes(MIB), crc)
            method, size = 8, content * MIB
        else:
            data, crc, method, size = content, zlib.crc32(content), 0, len(content)
        size = int(declared) if declared else size
        fname = name.encode()
        central += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, method, 0, 0x21, crc, len(data), size,
                               len(fname), 0, 0, 0, 0, 0, len(local)) + fname
        local += struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, method, 0, 0x21, crc, len(data), size,
                             len(fname), 0) + fname + data
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(members), len(members), len(central), len(local), 0)
    path.write_bytes(local + central + end)
    return path


def _written(folder):
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def test_zip_bomb_is_refused_from_its_headers(tmp_path):
    bomb = zip_of_zeros(tmp_path / "bomb.zip", {"macho/weights.data-00000-of-00001": 1024, "macho/conf.json": b"{}"})
    assert bomb.stat().st_size < 1.2 * MIB
    out = tmp_path / "out"
    out.mkdir()
    start = time.perf_counter()
    with pytest.raises(detect.ArchiveTooLargeError) as info:
        detect.safe_extract(bomb, out)
    assert time.perf_counter() - start < 2
    assert str(info.value) == (f"{bomb} would expand to 1.0 GiB, more than the limit of 512.0 MiB "
                               "(set ASTROMER_ZIP_MAX_BYTES to raise it); refusing to extract it.")
    assert _written(out) == 0


def test_zip_bomb_through_load_preset_leaves_nothing(tmp_path, monkeypatch):
    bomb = zip_of_zeros(tmp_path / "bomb.zip", {"macho/weights.data-00000-of-00001": 1024, "macho/conf.json": b"{}"})
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr("tempfile.tempdir", str(scratch))
    with pytest.raises(detect.ArchiveTooLargeError, match=r"bomb\.zip would expand to 1\.0 GiB"):
        astromer.load_preset(bomb)
    assert list(scratch.iterdir()) == []


def test_lying_header_stops_the_stream(tmp_path):
    """A member whose headers record 1 KiB but whose data inflates to 1 GiB: never more than 1 KiB is written."""
    bomb = zip_of_zeros(tmp_path / "liar.zip", {"zeros.bin!1024": 1024})
    out = tmp_path / "out"
    out.mkdir()
    start = time.perf_counter()
    with pytest.raises(ValueError, match=r"liar\.zip is corrupted: member 'zeros\.bin' cannot be read \(Bad CRC-32"):
        detect.safe_extract(bomb, out)
    assert time.perf_counter() - start < 2 and _written(out) == 0


def test_streaming_cap_holds_when_the_header_check_is_passed(tmp_path, monkeypatch):
    """The cap on the bytes actually decompressed, on its own (headers that passed their check)."""
    bomb = zip_of_zeros(tmp_path / "bomb.zip", {"zeros.bin": 64})
    monkeypatch.setattr(detect, "check_zip_headers", lambda zf, *args: zf.infolist())
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(detect.ArchiveTooLargeError) as info:
        detect.safe_extract(bomb, out, max_bytes=8 * MIB)
    assert str(info.value) == (f"{bomb} expands past the limit of 8.0 MiB while being extracted "
                               "(set ASTROMER_ZIP_MAX_BYTES to raise it); refusing to extract it.")
    assert _written(out) == 0  # the partial member is removed


def test_too_many_members(tmp_path, monkeypatch):
    many = tmp_path / "many.zip"
    with zipfile.ZipFile(many, "w") as zf:
        for i in range(10_001):
            zf.writestr(f"m/{i}", b"")
    with pytest.raises(detect.ArchiveTooLargeError) as info:
        detect.safe_extract(many, tmp_path / "out")
    assert str(info.value) == (f"{many} has 10,001 members, more than the limit of 10,000 "
                               "(set ASTROMER_ZIP_MAX_MEMBERS to raise it); refusing to extract it.")
    assert not (tmp_path / "out").exists()
    few = tmp_path / "few.zip"
    with zipfile.ZipFile(few, "w") as zf:
        for i in range(6):
            zf.writestr(f"m/{i}", b"x")
    monkeypatch.setenv("ASTROMER_ZIP_MAX_MEMBERS", "5")
    with pytest.raises(detect.ArchiveTooLargeError, match="has 6 members, more than the limit of 5"):
        detect.safe_extract(few, tmp_path / "out")
    monkeypatch.setenv("ASTROMER_ZIP_MAX_MEMBERS", "6")
    detect.safe_extract(few, tmp_path / "out")
    assert sorted(p.name for p in (tmp_path / "out" / "m").iterdir()) == [str(i) for i in range(6)]


def test_limits_are_configurable_and_fit_the_published_archives(tmp_path, monkeypatch):
    for name in ("macho_a0.zip", "atlas.zip"):
        archive = require_shared("weights", "astromer", name)
        with zipfile.ZipFile(archive) as zf:
            detect.check_zip_headers(zf, archive)  # the defaults pass the real archives
    archive = require_shared("weights", "astromer", "macho_a0.zip")
    monkeypatch.setenv("ASTROMER_ZIP_MAX_BYTES", "1000000")
    with pytest.raises(detect.ArchiveTooLargeError, match=r"macho_a0\.zip would expand to 2\.7 MiB, more than the "
                                                           r"limit of 976\.6 KiB \(set ASTROMER_ZIP_MAX_BYTES"):
        astromer.load_preset(archive)
    monkeypatch.setenv("ASTROMER_ZIP_MAX_BYTES", "lots")
    with pytest.raises(ValueError, match=r"^ASTROMER_ZIP_MAX_BYTES='lots' is not a number \(a limit in bytes\)\.$"):
        detect.zip_limits()


def test_keras_file_claiming_gigabytes_is_refused_before_keras_reads_it(tmp_path):
    fake = zip_of_zeros(tmp_path / "fake.keras", {"metadata.json": b"{}", "config.json": b"{}",
                                                  "model.weights.h5": 1024})
    assert loader.is_keras_file(fake)
    with pytest.raises(detect.ArchiveTooLargeError, match=r"fake\.keras would expand to 1\.0 GiB, more than the "
                                                           r"limit of 512\.0 MiB"):
        astromer.load_preset(fake)


def test_unsafe_member_paths_are_refused(tmp_path):
    evil = tmp_path / "evil.zip"
    with zipfile.ZipFile(evil, "w") as zf:
        zf.writestr("ok.txt", b"x")
        zf.writestr("../escape.txt", b"x")
    with pytest.raises(ValueError, match=r"evil\.zip has an unsafe member path '\.\./escape\.txt'"):
        detect.safe_extract(evil, tmp_path / "out")
    assert not (tmp_path / "escape.txt").exists() and not (tmp_path / "out").exists()


# ----------------------------------------------------------------------------- "not recognised" messages
EVERY_FORMAT = ("our preset folder (config.json + model.weights.h5 + metadata.json)", "a Keras .keras file",
                "Astromer 1 TF checkpoint (conf.json + weights.index", "Astromer 1 h5 (conf.json + weights.h5",
                "Astromer 2 folder (config.toml + weights.index", "astroPT checkpoint (a torch .pt file")


def _assert_lists_every_format(message):
    assert "\n" not in message
    for words in EVERY_FORMAT:
        assert words in message, (words, message)


def test_not_recognised_messages_list_every_format(tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    other_zip = tmp_path / "other.zip"
    with zipfile.ZipFile(other_zip, "w") as zf:
        zf.writestr("docs/readme.txt", "x")
    empty = tmp_path / "empty"
    empty.mkdir()
    not_astropt = write_torch_zip(tmp_path / "other.pt", {"a": 1})
    unknown = "holds no Astromer checkpoint we recognise, nor any other model. Known formats:"
    cases = {
        (astromer.load_preset, text): f"{text} is neither a zip archive nor a model file we recognise. Known formats:",
        (astromer.presets.convert_original, text): f"{text} is neither a zip archive nor a model file",
        (astromer.load_preset, other_zip): f"{other_zip} {unknown}",
        (astromer.load_preset, empty): f"{empty} {unknown}",
        (detect.detect_folder, empty): f"{empty} {unknown}",
        (astromer.load_preset, not_astropt): f"{not_astropt} {unknown}",
    }
    for (load, handle), start in cases.items():
        with pytest.raises(ValueError) as info:
            load(handle)
        assert str(info.value).startswith(start), str(info.value)
        _assert_lists_every_format(str(info.value))
    assert str(info.value).endswith("Files found: ['archive/byteorder', 'archive/data.pkl', 'archive/version'].")
    with pytest.raises(FileNotFoundError) as info:
        astromer.load_preset(tmp_path / "missing")
    assert "is neither a preset name (astromer_v1, " in str(info.value)
    _assert_lists_every_format(str(info.value))


def test_not_recognised_on_the_command_line_is_one_untruncated_line(tmp_path, monkeypatch):
    import contextlib
    import io

    from astromer.cli.main import main
    from astromer.data.synthetic import write_simulated_survey

    survey = write_simulated_survey(tmp_path / "s", 6, seed=1, min_observations=10, max_observations=30)
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"\0" * 10)
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = main(["embed", str(survey), "-o", str(tmp_path / "e.parquet"), "--model", str(junk), "--quiet"])
    assert code == 2 and err.getvalue().count("\n") == 1
    assert err.getvalue().startswith(f"astromer embed: error: {junk} is neither a zip archive")
    _assert_lists_every_format(err.getvalue().strip())
