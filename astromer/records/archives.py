"""Unpacking a recipe's downloaded zip or tar archive with the package's archive checks: every
member's header is checked (size and member caps, absolute or ``..`` names, links leading out)
before anything is written, then again while streaming; members land in a temporary folder that
is moved into place only when all are out."""

from __future__ import annotations

import os
from pathlib import Path, PureWindowsPath

from astromer.errors import AstromerError


class ArchiveError(AstromerError, ValueError):
    """A downloaded archive that cannot be unpacked safely or at all (the message names it)."""

# Data archives are larger than weight archives: the caps scale with the archive (a real data set
# compresses a few times; a zip bomb a thousand times), never below the preset loader's caps.
DATA_EXPANSION_FACTOR = 100
DATA_MAX_MEMBERS = 1_000_000


def archive_limits(archive):
    """``(max_bytes, max_members)`` for a downloaded data archive (see :func:`extract`)."""
    from astromer.presets.detect import zip_limits

    max_bytes, max_members = zip_limits()
    return (max(max_bytes, DATA_EXPANSION_FACTOR * os.path.getsize(archive)),
            max(max_members, DATA_MAX_MEMBERS))


def _member_parts(name):
    """A tar member name as path parts, without empty and ``.`` parts."""
    return [p for p in name.replace("\\", "/").split("/") if p not in ("", ".")]


def _resolve_in_archive(parts, links, depth=0):
    """``parts`` (a path inside the destination) with the archive's own symlinks (``links``:
    member path -> link target) followed, as parts; None when it leaves the destination."""
    out = []
    for part in parts:
        if part == "..":
            if not out:
                return None
            out.pop()
            continue
        out.append(part)
        target = links.get("/".join(out))
        if target is None:
            continue
        if depth > 40 or target.startswith(("/", "\\")) or PureWindowsPath(target).drive:
            return None
        resolved = _resolve_in_archive(out[:-1] + _member_parts(target), links, depth + 1)
        if resolved is None:
            return None
        out = resolved
    return out


def _check_tar_headers(archive, t, into, max_bytes, max_members):
    """Every member of the open tar ``t``, after checking all their headers (nothing is written):
    the size and member caps, absolute or ``..`` names, special files and links (sym- or hard)
    that lead outside ``into``, directly or through another link of the archive."""
    import tarfile

    from astromer.presets.detect import ArchiveTooLargeError

    members, total = [], 0
    for m in t:  # stops at the first header past a cap, before reading the rest
        members.append(m)
        total += m.size if m.isfile() else 0
        if len(members) > max_members or total > max_bytes:
            raise ArchiveTooLargeError(
                f"{archive} has at least {len(members):,} members expanding to at least {total:,} bytes, "
                f"more than the limits ({max_members:,} members, {max_bytes:,} bytes); refusing to extract it.")
    links = {"/".join(_member_parts(m.name)): m.linkname for m in members if m.issym()}
    for m in members:
        try:
            tarfile.data_filter(m, os.fspath(into))  # special files, links to absolute paths, ...
        except tarfile.FilterError as exc:
            raise ArchiveError(f"{archive} has an unsafe member ({exc}); refusing to extract it") from None
        parts = _member_parts(m.name)
        if (m.name.startswith(("/", "\\")) or PureWindowsPath(m.name).drive or ".." in parts
                or _resolve_in_archive(parts[:-1], links) is None):
            raise ArchiveError(f"{archive} has an unsafe member path {m.name!r}; refusing to extract it")
        if m.issym() and _resolve_in_archive(parts[:-1] + _member_parts(m.linkname), links) is None:
            raise ArchiveError(f"{archive} has an unsafe member ({m.name!r} links to {m.linkname!r}, outside the "
                              "destination); refusing to extract it")
        if m.islnk() and (".." in _member_parts(m.linkname)
                          or _resolve_in_archive(_member_parts(m.linkname), links) is None):
            raise ArchiveError(f"{archive} has an unsafe member ({m.name!r} is a hard link to {m.linkname!r}, "
                              "outside the destination); refusing to extract it")
    return members


def _move_into(src, dst):
    """Move the extracted tree ``src`` into ``dst``, merging folders; a file or link in the way is
    replaced (a newer download of it); a folder in the way of a file is refused, never deleted
    (another archive's tree)."""
    for entry in os.listdir(src):
        s, d = os.path.join(src, entry), os.path.join(dst, entry)
        if os.path.isdir(s) and not os.path.islink(s) and os.path.isdir(d) and not os.path.islink(d):
            _move_into(s, d)
            continue
        if os.path.isdir(d) and not os.path.islink(d):
            raise ArchiveError(f"cannot unpack {entry!r} into {dst}: a folder of that name is already there "
                              "(from another archive?); remove it or unpack elsewhere")
        if os.path.islink(d) or os.path.exists(d):
            os.unlink(d)
        os.replace(s, d)


def extract(archive, into):
    """Unpack a recipe's zip or tar archive with the package's archive checks: size and member caps,
    no absolute or ``..`` paths, no links leading out of the folder, all from the headers before
    anything is written; then again while streaming (zip sizes; tar ``filter="data"``). Members are
    unpacked into a temporary folder inside ``into`` and moved in place only once all are out, so a
    refused archive leaves nothing behind."""
    import shutil
    import tarfile
    import tempfile
    import zipfile

    from astromer.presets.detect import safe_extract

    marker = Path(into) / f".extracted-{Path(archive).name}"
    if marker.exists():
        return
    max_bytes, max_members = archive_limits(archive)
    is_zip = zipfile.is_zipfile(archive)
    t = None
    if not is_zip:
        try:
            t = tarfile.open(archive)
            members = _check_tar_headers(archive, t, into, max_bytes, max_members)
        except BaseException as exc:
            if t is not None:
                t.close()
            if isinstance(exc, tarfile.TarError):
                raise ArchiveError(f"{archive} is not a readable zip or tar archive ({exc}); "
                                  "delete it and run again") from None
            raise
    Path(into).mkdir(parents=True, exist_ok=True)
    for stale in Path(into).glob(f".extracting-{Path(archive).name}-*"):   # left by a killed run
        shutil.rmtree(stale, ignore_errors=True)
    staging = tempfile.mkdtemp(prefix=f".extracting-{Path(archive).name}-", dir=into)
    try:
        if is_zip:
            safe_extract(archive, staging, max_bytes=max_bytes, max_members=max_members)
        else:
            try:
                t.extractall(staging, members=members, filter="data")
            except tarfile.FilterError as exc:
                raise ArchiveError(f"{archive} has an unsafe member ({exc}); refusing to extract it") from None
            except tarfile.TarError as exc:
                raise ArchiveError(f"{archive} is not a readable zip or tar archive ({exc}); "
                                  "delete it and run again") from None
        _move_into(staging, into)
    finally:
        if t is not None:
            t.close()
        shutil.rmtree(staging, ignore_errors=True)
    marker.touch()
