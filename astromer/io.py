"""The package's one implementation of file hashing, atomic writes and downloads.

The files the package keeps for later use (record shards and their manifests, metadata, presets,
downloaded archives, cached copies, the harness's results.csv) are written through here:

- :func:`sha256_of`: the sha256 of a file, read in chunks.
- :func:`atomic_path`: a context manager yielding a temporary path beside the destination; what
  the block writes there is fsynced and renamed onto the destination (``os.replace``) only if the
  block finishes, and deleted otherwise. :func:`atomic_write_bytes`, :func:`atomic_write_text`,
  :func:`atomic_write_json` and :func:`atomic_copy` are built on it, so a reader sees the old
  file or the new one, never a half-written one. :func:`atomic_dir` does the same for a folder.
- :func:`download`: streams a URL to such a temporary path with a progress bar, checks its size
  and sha256 and only then renames it into place; on a mismatch the temporary file is deleted
  and :class:`IntegrityError` is raised.

Temporary files are named ``.NAME.<pid>-<random>.tmp`` in the destination's folder (so the rename
never crosses file systems); a crashed writer can leave one behind, never a truncated ``NAME``.

This module is the ground floor: it imports only the standard library and :mod:`astromer.errors`
(``tqdm``, a dependency of the package, is imported when a download starts).
"""

import contextlib
import hashlib
import http.client
import json
import os
import secrets
import shutil
import urllib.request
from pathlib import Path

from astromer.errors import AstromerError

CHUNK = 1 << 20
USER_AGENT = "astromer-keras"


class IntegrityError(AstromerError, ValueError):
    """A file's sha256 or size differs from the expected one."""


def sha256_of(path, chunk=CHUNK) -> str:
    """Hex sha256 of the file at ``path``, read ``chunk`` bytes at a time."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def fsync(path):
    """Flush the file at ``path`` to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def temp_path(path) -> Path:
    """A fresh temporary name beside ``path``: ``.NAME.<pid>-<random>.tmp``."""
    path = Path(path)
    return path.with_name(f".{path.name}.{os.getpid()}-{secrets.token_hex(4)}.tmp")


@contextlib.contextmanager
def atomic_path(path):
    """Yield a temporary path beside ``path`` to write to; on success fsync it and rename it onto
    ``path``; on any exception delete it and leave ``path`` as it was. Creates the parent folder."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_path(path)
    try:
        yield tmp
        fsync(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def atomic_write_bytes(path, data: bytes):
    with atomic_path(path) as tmp, open(tmp, "wb") as handle:
        handle.write(data)


def atomic_write_text(path, text: str, encoding="utf-8"):
    atomic_write_bytes(path, text.encode(encoding))


def atomic_write_json(path, obj, indent=1):
    """Write ``obj`` as JSON (and a final newline); serialised first, so an object that cannot be
    serialised raises before anything is written."""
    atomic_write_text(path, json.dumps(obj, indent=indent) + "\n")


def atomic_copy(source, destination):
    """Copy ``source`` to a temporary name beside ``destination``, then rename it into place."""
    with atomic_path(destination) as tmp:
        shutil.copyfile(source, tmp)


@contextlib.contextmanager
def atomic_dir(path):
    """Yield a new empty folder beside ``path`` to fill; on success it takes the place of ``path``
    (an existing ``path`` is moved aside first, then deleted); on any exception it is deleted and
    ``path`` is left as it was."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_path(path)
    tmp.mkdir()
    try:
        yield tmp
        old = tmp.with_suffix(".old")
        if path.exists():
            os.replace(path, old)
        os.replace(tmp, path)
        if old.is_dir():
            shutil.rmtree(old, ignore_errors=True)
        else:
            old.unlink(missing_ok=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def read_json_or_none(path):
    """The JSON value in ``path``, or None if it is missing, unreadable or not valid JSON."""
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except (OSError, ValueError):
        return None


def download(url, destination, *, sha256=None, size=None, progress=True, timeout=30):
    """Download ``url`` to ``destination`` with a progress bar; verify, then rename into place.

    The bytes go to a temporary file beside ``destination``. If ``size`` (or the server's
    Content-Length) or ``sha256`` is given and the file differs, the temporary file is deleted and
    :class:`IntegrityError` (naming ``url``) is raised; ``destination`` is then left untouched.
    Network failures raise ``urllib.error.URLError`` or ``HTTPError`` (both ``OSError``). Returns
    ``destination`` as a ``Path``.
    """
    from tqdm.auto import tqdm

    destination = Path(destination)
    digest = hashlib.sha256()
    received = 0
    with atomic_path(destination) as tmp:
        request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
        with urllib.request.urlopen(request, timeout=timeout) as response:  # HTTPError on non-2xx
            announced = int(response.headers.get("Content-Length") or 0) or None
            with open(tmp, "wb") as handle, tqdm(
                total=announced or size or None, unit="B", unit_scale=True, desc=destination.name,
                disable=not progress,
            ) as bar:
                try:
                    while block := response.read(CHUNK):
                        handle.write(block)
                        digest.update(block)
                        received += len(block)
                        bar.update(len(block))
                except http.client.IncompleteRead as exc:
                    raise IntegrityError(
                        f"Downloading {url} stopped after {received:,} bytes ({exc!r}); "
                        "the file was discarded."
                    ) from None
        for expected in (size, announced):
            if expected and received != int(expected):
                raise IntegrityError(
                    f"Downloaded {url} but got {received:,} bytes, expected {int(expected):,}; "
                    "the file was discarded."
                )
        if sha256 and digest.hexdigest() != sha256:
            raise IntegrityError(
                f"Downloaded {url} but its sha256 is {digest.hexdigest()}, expected {sha256}; "
                "the file was discarded."
            )
    return destination
