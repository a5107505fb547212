"""Getting preset archives: the cache, the mirror, the network; always checksummed and atomic.

Environment:

- ``ASTROMER_HOME``: the cache (default ``~/.cache/astromer``); archives go to
  ``$ASTROMER_HOME/archives``, converted presets to ``$ASTROMER_HOME/presets``.
- ``ASTROMER_MIRROR``: a folder of archives by file name, tried before the network.
- ``ASTROMER_OFFLINE=1``: never use the network.
"""

import os
import urllib.error
import warnings
from pathlib import Path

# The hashing, atomic copy and download are astromer.io's; re-exported here, where they always were.
from astromer.io import IntegrityError, atomic_copy, download, sha256_of


def astromer_home():
    return Path(os.environ.get("ASTROMER_HOME") or Path.home() / ".cache" / "astromer").expanduser()


def offline():
    return os.environ.get("ASTROMER_OFFLINE", "").strip().lower() in ("1", "true", "yes")


def mirror_dir():
    value = os.environ.get("ASTROMER_MIRROR")
    return Path(value).expanduser() if value else None


def _verified(path, sha256, what):
    """True if ``path`` matches ``sha256`` (or no checksum is known); warn and False otherwise."""
    if not sha256:
        return True
    actual = sha256_of(path)
    if actual == sha256:
        return True
    warnings.warn(
        f"{what} {path} is corrupted or incomplete (sha256 {actual[:12]}..., expected "
        f"{sha256[:12]}...); it will not be used.",
        UserWarning,
        stacklevel=3,
    )
    return False


def fetch_archive(source, preset_name=None, progress=True):
    """Return a verified local copy of ``source["filename"]`` in ``$ASTROMER_HOME/archives``.

    Order: the cache (a corrupted cached copy is deleted and fetched again),
    ``ASTROMER_MIRROR``, then ``source["url"]`` unless ``ASTROMER_OFFLINE=1``.
    """
    filename, url, sha256 = source["filename"], source.get("url"), source.get("sha256")
    cached = astromer_home() / "archives" / filename
    if cached.is_file():
        if _verified(cached, sha256, "The cached archive"):
            return cached
        cached.unlink()

    tried = [f"the cache ({cached.parent})"]
    mirror = mirror_dir()
    if mirror is not None:
        candidate = mirror / filename
        tried.append(f"ASTROMER_MIRROR ({mirror})")
        if candidate.is_file() and _verified(candidate, sha256, "The mirror copy"):
            atomic_copy(candidate, cached)
            return cached

    reason = "ASTROMER_OFFLINE=1 is set"
    if url and not offline():
        try:
            return download(url, cached, sha256=sha256, size=source.get("size"), progress=progress)
        except (urllib.error.URLError, OSError, IntegrityError) as exc:
            reason = f"downloading it failed ({exc})"
        tried.append(url)
    elif not url:
        reason = "the preset has no download address"
    who = f" for preset {preset_name!r}" if preset_name else ""
    raise FileNotFoundError(
        f"Cannot get {filename}{who}: not found in {' or '.join(tried[:2])}, and {reason}. "
        f"Download it from {url or 'its publisher'} and place it in {cached.parent} "
        f"(or in a folder named by the ASTROMER_MIRROR environment variable)"
        + (f"; its sha256 must be {sha256}." if sha256 else ".")
    )
