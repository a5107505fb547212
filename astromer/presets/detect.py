"""Recognise what a local preset handle holds, by content rather than by name."""

import shutil
import tempfile
import zipfile
from pathlib import Path

# format name -> files that must sit together in one folder
FORMATS = {
    "astromer_v2_checkpoint": ("config.toml", "weights.index"),
    "astromer_v1_checkpoint": ("conf.json", "weights.index"),
    "astromer_v1_h5": ("conf.json", "weights.h5"),
}


def detect_folder(folder):
    """Return ``(format, folder)`` for the first folder (itself, then below, sorted) that holds a known layout."""
    folder = Path(folder)
    candidates = [folder] + sorted(p for p in folder.rglob("*") if p.is_dir())
    for candidate in candidates:
        for name, files in FORMATS.items():
            if all((candidate / f).is_file() for f in files):
                return name, candidate
    found = sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())[:20]
    raise ValueError(
        f"{folder} holds no Astromer checkpoint we recognise. Expected one of: "
        + "; ".join(f"{n} ({' + '.join(f)})" for n, f in FORMATS.items())
        + f". Files found: {found or 'none'}."
    )


def safe_extract(archive, destination):
    """Extract a zip archive, refusing absolute paths and ``..`` components."""
    archive = Path(archive)
    try:
        with zipfile.ZipFile(archive) as zf:
            bad = zf.testzip()
            if bad is not None:
                raise ValueError(f"{archive} is corrupted: member {bad!r} fails its CRC check.")
            for member in zf.namelist():
                p = Path(member)
                if p.is_absolute() or ".." in p.parts:
                    raise ValueError(f"{archive} has an unsafe member path {member!r}; refusing to extract.")
            zf.extractall(destination)
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
