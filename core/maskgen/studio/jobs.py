"""Cancelling long work (projection, walks, translation), per browser session.

A long handler runs inside :meth:`Jobs.running` for its session and calls ``check()`` between steps
(the projector's progress callback does, every step); the page's Cancel button calls
:meth:`Jobs.cancel` for the same session, and the work stops at its next step with one message.
Sessions are independent: cancelling yours never stops anyone else's.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from maskgen.errors import MaskgenError


class Cancelled(MaskgenError):
    """Raised inside a job whose session asked to cancel it."""


class Token:
    def __init__(self, what: str) -> None:
        self.what = what
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def check(self, where: str = "") -> None:
        if self._event.is_set():
            raise Cancelled(f"{self.what} cancelled{' ' + where if where else ''}")


class Jobs:
    """The running jobs of every session."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running: dict[str, set[Token]] = {}

    @contextmanager
    def running(self, session: str | None, what: str) -> Iterator[Token]:
        token = Token(what)
        key = session or "-"
        with self._lock:
            self._running.setdefault(key, set()).add(token)
        try:
            yield token
        finally:
            with self._lock:
                tokens = self._running.get(key, set())
                tokens.discard(token)
                if not tokens:
                    self._running.pop(key, None)

    def cancel(self, session: str | None) -> int:
        """Cancel every running job of ``session``; returns how many there were."""
        with self._lock:
            tokens = list(self._running.get(session or "-", ()))
        for token in tokens:
            token.cancel()
        return len(tokens)

    def count(self) -> int:
        with self._lock:
            return sum(len(t) for t in self._running.values())
