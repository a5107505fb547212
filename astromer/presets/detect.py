"""Recognise what a local preset handle holds, by content rather than by name; extract archives safely."""

import os
import shutil
import tempfile
import zipfile
import zlib
from pathlib import Path

from astromer.errors import AstromerError

# format name -> files that must sit together in one folder
FORMATS = {
    "astromer_v2_checkpoint": ("config.toml", "weights.index"),
    "astromer_v1_checkpoint": ("conf.json", "weights.index"),
    "astromer_v1_h5": ("conf.json", "weights.h5"),
}

# Everything load_preset / convert_original recognise, Astromer and AstroPT alike: every
# "not recognised" message lists them all.
KNOWN_FORMATS = (
    "our preset folder (config.json + model.weights.h5 + metadata.json)",
    "a Keras .keras file (model.save)",
    "an Astromer 1 TF checkpoint (conf.json + weights.index, e.g. macho_a0.zip)",
    "an Astromer 1 h5 (conf.json + weights.h5, e.g. atlas.zip)",
    "an Astromer 2 folder (config.toml + weights.index, e.g. pt_macho_v2_2025.zip)",
    "an astroPT checkpoint (a torch .pt file, or its folder)",
)


def known_formats():
    """``"Known formats: ...; ...."``: the sentence every "not recognised" message ends with."""
    return "Known formats: " + "; ".join(KNOWN_FORMATS) + "."


def detect_folder(folder, name=None):
    """Return ``(format, folder)`` for the first folder (itself, then below, sorted) that holds a known layout.

    ``name`` is what the error message calls the folder (e.g. the archive it was extracted from).
    """
    folder = Path(folder)
    candidates = [folder] + sorted(p for p in folder.rglob("*") if p.is_dir())
    for candidate in candidates:
        for fmt, files in FORMATS.items():
            if all((candidate / f).is_file() for f in files):
                return fmt, candidate
    found = sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())
    shown = found[:10] + ([f"... {len(found) - 10} more"] if len(found) > 10 else [])
    raise ValueError(
        f"{name or folder} holds no Astromer checkpoint we recognise, nor any other model. {known_formats()} "
        f"Files found: {shown or 'none'}."
    )


# ----------------------------------------------------------------------------- archive limits
MAX_BYTES_ENV = "ASTROMER_ZIP_MAX_BYTES"
MAX_MEMBERS_ENV = "ASTROMER_ZIP_MAX_MEMBERS"
# The published archives extract to 2.8 MB (macho_a0.zip, atlas.zip: 10 and 8 members); the
# limits leave two orders of magnitude for larger checkpoints (TF folders hold the optimizer too).
DEFAULT_MAX_BYTES = 512 << 20
DEFAULT_MAX_MEMBERS = 10_000
_CHUNK = 1 << 20


class ArchiveTooLargeError(AstromerError, ValueError):
    """A zip archive would expand past the size or member-count limit."""


def _limit(value, env, default):
    if value is not None:
        return int(value)
    text = os.environ.get(env, "").strip()
    if not text:
        return default
    try:
        number = int(float(text))
    except ValueError:
        unit = "bytes" if "BYTES" in env else "members"
        raise ValueError(f"{env}={text!r} is not a number (a limit in {unit}).") from None
    if number < 0:
        raise ValueError(f"{env}={text!r} must not be negative.")
    return number


def zip_limits(max_bytes=None, max_members=None):
    """``(max_bytes, max_members)``: the arguments, else ``$ASTROMER_ZIP_MAX_BYTES`` /
    ``$ASTROMER_ZIP_MAX_MEMBERS``, else 512 MiB and 10,000 members."""
    return (_limit(max_bytes, MAX_BYTES_ENV, DEFAULT_MAX_BYTES),
            _limit(max_members, MAX_MEMBERS_ENV, DEFAULT_MAX_MEMBERS))


def _size(n):
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} bytes"


def _too_large(archive, what, limit, env, shown):
    return ArchiveTooLargeError(
        f"{archive} {what}, more than the limit of {shown(limit)} (set {env} to raise it); refusing to extract it."
    )


def check_zip_headers(zf, archive, max_bytes=None, max_members=None):
    """Refuse, from the zip's central directory alone (nothing is decompressed), an archive with more
    members or a larger total uncompressed size than the limits (see :func:`zip_limits`)."""
    max_bytes, max_members = zip_limits(max_bytes, max_members)
    infos = zf.infolist()
    if len(infos) > max_members:
        raise _too_large(archive, f"has {len(infos):,} members", max_members, MAX_MEMBERS_ENV, lambda n: f"{n:,}")
    total = sum(i.file_size for i in infos)
    if total > max_bytes:
        raise _too_large(archive, f"would expand to {_size(total)}", max_bytes, MAX_BYTES_ENV, _size)
    return infos


def safe_extract(archive, destination, max_bytes=None, max_members=None):
    """Extract a zip archive, refusing absolute paths, ``..`` components and archives past the limits.

    The limits (:func:`zip_limits`) are checked on the headers before anything is written, and again
    on the bytes actually decompressed while streaming (a header can lie): extraction stops at the
    first byte past a member's recorded size or the total limit. CRCs are checked as members are read.
    """
    archive = Path(archive)
    destination = Path(destination)
    max_bytes, max_members = zip_limits(max_bytes, max_members)
    try:
        with zipfile.ZipFile(archive) as zf:
            infos = check_zip_headers(zf, archive, max_bytes, max_members)
            for info in infos:
                p = Path(info.filename)
                if p.is_absolute() or ".." in p.parts or info.filename.startswith(("/", "\\")):
                    raise ValueError(f"{archive} has an unsafe member path {info.filename!r}; refusing to extract.")
            total = 0
            for info in infos:
                target = destination / info.filename
                if info.is_dir():
                    target.mkdir(parents=True, exist_ok=True)
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                written = 0
                try:
                    with zf.open(info) as src, open(target, "wb") as dst:
                        while chunk := src.read(_CHUNK):
                            written += len(chunk)
                            total += len(chunk)
                            if written > info.file_size:
                                raise ArchiveTooLargeError(
                                    f"{archive}: member {info.filename!r} expands past the {_size(info.file_size)} "
                                    "its header records; refusing to extract it."
                                )
                            if total > max_bytes:
                                raise ArchiveTooLargeError(
                                    f"{archive} expands past the limit of {_size(max_bytes)} while being extracted "
                                    f"(set {MAX_BYTES_ENV} to raise it); refusing to extract it."
                                )
                            dst.write(chunk)
                except (zipfile.BadZipFile, zlib.error, EOFError) as exc:  # a bad CRC-32, truncated or bad data
                    target.unlink(missing_ok=True)
                    raise ValueError(f"{archive} is corrupted: member {info.filename!r} cannot be read ({exc}); "
                                     "re-download it.") from exc
                except BaseException:
                    target.unlink(missing_ok=True)
                    raise
    except zipfile.BadZipFile as exc:
        raise ValueError(f"{archive} is not a readable zip archive ({exc}); re-download it.") from exc


class ExtractedArchive:
    """Context manager: a zip extracted into a temporary folder, removed on exit."""

    def __init__(self, archive):
        self.archive = Path(archive)
        self.tmp = None

    def __enter__(self):
        self.tmp = Path(tempfile.mkdtemp(prefix="astromer-"))
        try:
            safe_extract(self.archive, self.tmp)
        except BaseException:
            shutil.rmtree(self.tmp, ignore_errors=True)
            raise
        return self.tmp

    def __exit__(self, *exc):
        shutil.rmtree(self.tmp, ignore_errors=True)
        return False
