"""A one-line progress bar for ``tick`` on a terminal (standard error only)."""

from __future__ import annotations

import time
from typing import TextIO

from bot.core.domain import DeliveryStatus
from bot.scheduling.ports import Outcome


class ProgressBar:
    """Redraws ``[#####-----] done/total sent … failed … skipped …`` at most ten times a second."""

    def __init__(self, stream: TextIO, total: int, width: int = 30) -> None:
        self.stream = stream
        self.total = total
        self.width = width
        self.counts = {DeliveryStatus.SENT: 0, DeliveryStatus.FAILED: 0, DeliveryStatus.SKIPPED: 0}
        self._drawn_at = 0.0
        self._drawn = False

    @property
    def done(self) -> int:
        """Rows that reached a final status."""
        return sum(self.counts.values())

    def update(self, outcome: Outcome) -> None:
        """Count an outcome and redraw when due."""
        if outcome.status in self.counts:
            self.counts[outcome.status] += 1
        now = time.monotonic()
        if now - self._drawn_at >= 0.1 or self.done >= self.total:
            self.draw()
            self._drawn_at = now

    def draw(self) -> None:
        """Draw the bar now."""
        total = max(self.total, self.done, 1)
        filled = int(self.width * self.done / total)
        bar = "#" * filled + "-" * (self.width - filled)
        sent, failed, skipped = (self.counts[s] for s in self.counts)
        self.stream.write(
            f"\r[{bar}] {self.done}/{total}  sent {sent}  failed {failed}  skipped {skipped}"
        )
        self.stream.flush()
        self._drawn = True

    def close(self) -> None:
        """Finish the line."""
        if self._drawn:
            self.draw()
            self.stream.write("\n")
            self.stream.flush()
