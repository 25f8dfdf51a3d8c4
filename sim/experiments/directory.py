"""The batch directory: one writer at a time (an OS file lock), checks, leftovers of killed runs."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from sim.experiments.errors import BatchError
from sim.experiments.plan import BatchPlan, batch_differences
from sim.experiments.store import read_json
from sim.io.files import BATCH_JSON, FAILED, LOCK, RUNS


class BatchLock:
    """``DIR/.lock``: one batch process writes to a directory at a time.

    An OS file lock (:class:`filelock.FileLock`, ``flock`` on POSIX): the kernel releases it
    when the holding process ends, however it ends, so a killed batch never blocks a resume.
    The empty lock file stays in place (removing it would race with another process opening it).
    """

    def __init__(self, out: Path):
        from filelock import FileLock

        self.path = out / LOCK
        self._lock = FileLock(str(self.path), timeout=0)

    def __enter__(self) -> BatchLock:
        from filelock import Timeout

        try:
            self._lock.acquire()
        except Timeout:
            raise BatchError(f"another migsim batch is writing to {self.path.parent} (it holds "
                             f"{self.path}); wait for it or stop it") from None
        return self

    def __exit__(self, *exc: Any) -> None:
        self._lock.release()


def check_batch_dir(plan: BatchPlan) -> None:
    """Check the batch directory (new, or the same batch to resume) and write batch.json."""
    out = plan.out
    if out.exists() and not out.is_dir():
        raise BatchError(f"batch directory {out} exists and is not a directory")
    bj = out / BATCH_JSON
    if bj.exists():
        old = read_json(bj)
        if not isinstance(old, dict) or old.get("kind") != "migsim-batch":
            raise BatchError(f"{bj} is not a migsim batch description; choose another --out")
        diffs = batch_differences(old, plan.describe())
        if diffs:
            raise BatchError(f"{out} holds a different batch; refusing to resume into it "
                             f"(choose another --out or repeat the original command):\n  "
                             + "\n  ".join(diffs))
    elif out.is_dir() and any(not _is_temporary(p) for p in out.iterdir()):
        raise BatchError(f"refusing to write a batch into {out}: it is not empty and holds no "
                         f"{BATCH_JSON}; choose another --out")


def _is_temporary(p: Path) -> bool:
    """A lock or a temporary file left by a killed writer (ignored, cleaned)."""
    return p.name == LOCK or (p.name.startswith(".") and (".tmp-" in p.name
                                                          or ".old-" in p.name))


def clean_temporaries(out: Path) -> None:
    """Remove what killed runs and writers left: hidden ``.*.tmp-*``/``.*.old-*`` entries."""
    for d in (out / RUNS, out / FAILED, out):
        if not d.is_dir():
            continue
        for p in d.iterdir():
            if p.name != LOCK and _is_temporary(p):
                if p.is_dir():
                    shutil.rmtree(p, ignore_errors=True)
                else:
                    p.unlink(missing_ok=True)




__all__ = ["BatchLock", "check_batch_dir", "clean_temporaries"]
