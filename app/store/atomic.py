"""Crash-safe file writes: a file is either absent or complete, never half-written.

The bytes go to a temporary file in the same folder, are flushed to disk (fsync), and only
then appear under their final name in one step; the folder itself is fsynced so the new name
survives a power cut. A leftover temporary file (the process was killed mid-write) is never
mistaken for a model and is swept away by ``sweep_temporaries``.
"""

import contextlib
import errno
import os
import time
from pathlib import Path

TMP_PREFIX = ".tmp-"


def fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_new(dest: Path, data: bytes) -> bool:
    """Create `dest` holding `data` unless it exists already; False when it did.

    Two writers of the same name (two workers, the same upload) cannot overwrite each other:
    the final name is made with a hard link, which fails if the name is taken. File systems
    without hard links fall back to rename after an existence check.
    """
    tmp = dest.parent / f"{TMP_PREFIX}{dest.name}.{os.getpid()}.{time.monotonic_ns()}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        try:
            view = memoryview(data)
            while view:
                written = os.write(fd, view)
                view = view[written:]
            os.fsync(fd)
        finally:
            os.close(fd)
        try:
            os.link(tmp, dest)
        except FileExistsError:
            return False
        except OSError as exc:
            if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV):
                raise
            if dest.exists():
                return False
            os.replace(tmp, dest)
        fsync_dir(dest.parent)
        return True
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def remove(path: Path) -> bool:
    """Delete a file and make the deletion durable; False when it was not there."""
    try:
        os.unlink(path)
    except FileNotFoundError:
        return False
    fsync_dir(path.parent)
    return True


def sweep_temporaries(folder: Path, older_than_s: float = 3600.0) -> int:
    """Remove temporary files left by killed writers; young ones may belong to a live writer."""
    removed = 0
    now = time.time()
    for entry in os.scandir(folder):
        if entry.name.startswith(TMP_PREFIX) and entry.is_file(follow_symlinks=False):
            with contextlib.suppress(FileNotFoundError):
                if now - entry.stat().st_mtime > older_than_s:
                    os.unlink(entry.path)
                    removed += 1
    return removed
