"""What every long-running platform adapter shares: ``start``/``stop`` and ``async with``."""

from __future__ import annotations

from types import TracebackType
from typing import Self


class AdapterLifecycle:
    """An adapter that is started and stopped inside the caller's event loop; ``async with``
    starts it on entry and stops it on exit."""

    async def start(self) -> None:
        """Connect to the platform and begin answering."""
        raise NotImplementedError

    async def stop(self) -> None:
        """Stop answering and release every connection; safe to call twice."""
        raise NotImplementedError

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()
