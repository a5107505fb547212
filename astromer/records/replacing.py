"""Replacing a record dataset folder without ever losing it: ``--overwrite`` writes the new
dataset into a hidden sibling ``.DIR.overwrite-<pid>-<random>`` of ``DIR`` and swaps it in only
when complete (``DIR`` -> ``<sibling>.old``, the sibling -> ``DIR``, then the old copy is
deleted); a run killed before the swap leaves ``DIR`` as it was, and a crash between the two
renames is mended by the next run (:func:`recover_interrupted_swap`)."""

from __future__ import annotations

import os
import secrets
import shutil

from astromer.io import read_json_or_none
from astromer.records.schema import METADATA_FILE
from astromer.records.shards import PROGRESS_DIR

PLAN_FILE = "plan.json"  # in PROGRESS_DIR: the fingerprint of the conversion a folder holds


STAGING_TAG = ".overwrite-"  # hidden sibling of DIR that an --overwrite run writes into
BACKUP_SUFFIX = ".old"  # the old DIR, moved aside while the new one is swapped in


def _staging_siblings(out_dir):
    """``[(path, pid)]`` of the staging folders and backups of ``out_dir`` in its parent."""
    parent, base = os.path.split(os.path.abspath(out_dir))
    prefix = f".{base}{STAGING_TAG}"
    found = []
    try:
        names = os.listdir(parent)
    except OSError:
        return found
    for name in sorted(names):
        if not name.startswith(prefix):
            continue
        pid = name[len(prefix):].split("-", 1)[0]
        if pid.isdigit():
            found.append((os.path.join(parent, name), int(pid)))
    return found


def _owner_gone(pid):
    """Whether the run that made a staging folder is over (this process counts as over: an
    earlier, interrupted call)."""
    if pid == os.getpid():
        return True
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:  # e.g. PermissionError: someone else's live process
        return False
    return False


def recover_interrupted_swap(out_dir):
    """Undo or complete a replacement killed between its two renames (``DIR`` -> backup,
    staging -> ``DIR``): when ``DIR`` is missing, the complete new dataset (or else the backup)
    is put back; when ``DIR`` is there and the staging folder is gone, the swap had finished and
    the backup is deleted. Backups of live runs are left alone."""
    for path, pid in _staging_siblings(out_dir):
        if not path.endswith(BACKUP_SUFFIX) or not _owner_gone(pid):
            continue
        staged = path[:-len(BACKUP_SUFFIX)]
        if not os.path.exists(out_dir) and os.path.isdir(staged):
            if os.path.isfile(os.path.join(staged, METADATA_FILE)):
                shutil.rmtree(os.path.join(staged, PROGRESS_DIR), ignore_errors=True)
                os.replace(staged, out_dir)
                shutil.rmtree(path, ignore_errors=True)
            else:
                os.replace(path, out_dir)
        elif not os.path.exists(staged):
            # the swap had finished (a DIR missing since was removed by someone else): the old
            # copy is a leftover of its clean-up, never put back
            shutil.rmtree(path, ignore_errors=True)


def staging_dir(out_dir, fp, resume):
    """A fresh staging sibling of ``out_dir``, or (``resume``) the sibling of an interrupted
    replacement with fingerprint ``fp``, renamed to this run's name; stale siblings of finished
    runs are deleted."""
    parent, base = os.path.split(os.path.abspath(out_dir))
    mine = os.path.join(parent, f".{base}{STAGING_TAG}{os.getpid()}-{secrets.token_hex(4)}")
    adopted = False
    for path, pid in _staging_siblings(out_dir):
        if path.endswith(BACKUP_SUFFIX) or not _owner_gone(pid):
            continue
        plan = read_json_or_none(os.path.join(path, PROGRESS_DIR, PLAN_FILE))
        if resume and not adopted and plan is not None and plan.get("fingerprint") == fp:
            try:
                os.replace(path, mine)
                adopted = True
                continue
            except OSError:
                pass
        shutil.rmtree(path, ignore_errors=True)
    os.makedirs(mine, exist_ok=True)
    return mine, adopted
