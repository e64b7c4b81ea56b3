"""Progress of a sweep on rank 0: a live bar on a terminal, plain periodic lines otherwise."""

from __future__ import annotations

import sys
import time


class SweepProgress:
    """done/total, failures and an ETA; `quiet` or no TTY: a plain line every `interval` s."""

    def __init__(self, total: int, already_done: int, quiet: bool, interval: float = 10.0):
        self.total, self.done, self.failed = total, already_done, 0
        self.start_done = already_done
        self.start = time.monotonic()
        self.interval = interval
        self._last_line = self.start
        self._bar = None
        if not quiet and sys.stdout.isatty():
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

            self._bar = Progress(TextColumn("sweep"), BarColumn(), MofNCompleteColumn(),
                                 TextColumn("{task.fields[failed]} failed"), TimeRemainingColumn())
            self._task = self._bar.add_task("sweep", total=total, completed=already_done, failed=0)
            self._bar.start()

    def update(self, row: dict) -> None:
        self.done += 1
        self.failed += row.get("status") != "ok"
        if self._bar is not None:
            self._bar.update(self._task, completed=self.done, failed=self.failed)
        elif time.monotonic() - self._last_line >= self.interval:
            self._last_line = time.monotonic()
            print(self.line(), flush=True)

    def eta(self) -> float:
        solved = self.done - self.start_done
        if solved == 0:
            return float("nan")
        return (time.monotonic() - self.start) / solved * (self.total - self.done)

    def line(self) -> str:
        return (f"sweep: {self.done}/{self.total} points, {self.failed} failed, "
                f"elapsed {time.monotonic() - self.start:.0f} s, ETA {self.eta():.0f} s")

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()
