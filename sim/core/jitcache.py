"""Numba's on-disk cache kept in step with the package's sources.

Numba stamps a cached kernel with its own file's modification time only. A kernel that inlines
a helper from another module (``contacts_into`` of :mod:`sim.core.contacts` in the decisions
and the job search, the prefetches, ``send_home``) keeps the helper's old code after only that
module has changed, as after a ``git pull``; when the change is to a data layout (the coded
contact lists of version 0.14), the stale kernel reads memory wrongly. :func:`refresh` runs at
``import sim``, before any kernel is loaded: it hashes the package's sources (about 3 ms) and,
when the hash differs from the one written beside the cache, deletes the package's cache files
so that every kernel is compiled again from the current sources. An installed package whose
files cannot be written is left alone (its sources change only on reinstalling).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

STAMP = "migsim-sources.blake2b"  # the sources' hash the cache files were written for
PACKAGE = Path(__file__).resolve().parents[1]


def sources_digest(package: Path = PACKAGE) -> str:
    """Hash of every ``.py`` file of ``package`` (relative path and content)."""
    h = hashlib.blake2b(digest_size=16)
    for p in sorted(package.rglob("*.py")):
        h.update(p.relative_to(package).as_posix().encode())
        h.update(b"\0")
        h.update(p.read_bytes())
    return h.hexdigest()


def cache_dirs(package: Path = PACKAGE) -> list[Path]:
    """Directories numba may cache the package's kernels in: ``__pycache__`` beside each
    source directory, or the mirror of it under ``NUMBA_CACHE_DIR`` (numba's
    ``UserProvidedCacheLocator`` naming)."""
    user = os.environ.get("NUMBA_CACHE_DIR", "")
    out = []
    for d in sorted({p.parent for p in package.rglob("*.py")}):
        if user:
            sub = os.path.abspath(d)
            key = hashlib.sha1(sub.encode()).hexdigest()
            out.append(Path(user) / f"{os.path.basename(sub)}_{key}")
        else:
            out.append(d / "__pycache__")
    return out


def refresh(package: Path = PACKAGE) -> int:
    """Delete the package's numba cache files if the sources changed since they were written;
    returns the number of files deleted. Never raises for a file system that refuses."""
    try:
        digest = sources_digest(package)
        dirs = cache_dirs(package)
        stamp = (Path(os.environ["NUMBA_CACHE_DIR"]) if os.environ.get("NUMBA_CACHE_DIR")
                 else package / "__pycache__") / STAMP
        if stamp.is_file() and stamp.read_text().strip() == digest:
            return 0
        gone = 0
        for d in dirs:
            if d.is_dir():
                for f in (*d.glob("*.nbi"), *d.glob("*.nbc")):
                    try:
                        f.unlink()
                        gone += 1
                    except FileNotFoundError:  # another process got there first
                        pass
        stamp.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=stamp.parent, prefix=".stamp-")
        with os.fdopen(fd, "w") as fh:
            fh.write(digest + "\n")
        os.replace(tmp, stamp)
        return gone
    except OSError:
        return 0


__all__ = ["STAMP", "cache_dirs", "refresh", "sources_digest"]
