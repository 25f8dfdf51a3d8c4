"""A progress bar for batches on a terminal (rich, on stderr)."""

from __future__ import annotations

from typing import Any


class ProgressBar:
    """Rich progress on stderr: runs done / failed / ETA."""

    def __init__(self, total: int):
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self.progress = Progress(TextColumn("[bold]runs"), BarColumn(), MofNCompleteColumn(),
                                 TextColumn("[red]{task.fields[failed]} failed"),
                                 TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
                                 console=Console(stderr=True), transient=True)
        self.task = self.progress.add_task("runs", total=total, failed=0)
        self.failed = 0

    def __enter__(self) -> ProgressBar:
        self.progress.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.progress.stop()

    def __call__(self, rec: dict[str, Any]) -> None:
        self.failed += rec.get("status") == "failed"
        self.progress.update(self.task, advance=1, failed=self.failed)


def stderr_is_terminal() -> bool:
    from rich.console import Console

    return Console(stderr=True).is_terminal




__all__ = ["ProgressBar", "stderr_is_terminal"]
