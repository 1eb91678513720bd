"""What the commands show and ask on a terminal: a live progress line, a yes/no question."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TextIO

from bridge.exits import EXIT_USAGE, Failure


def ask_yes(question: str, ask: Callable[[str], object]) -> bool:
    """Ask a yes/no question; without anyone to answer (no terminal, stdin closed) raise a usage failure."""
    try:
        answer = ask(question)
    except EOFError:
        print(file=sys.stderr)
        raise Failure(
            EXIT_USAGE,
            "confirmation needed, but there is no terminal to ask on: add --yes to "
            "confirm on the command line",
        ) from None
    return str(answer).strip().lower() in ("y", "yes")


class Progress:
    """One line that rewrites itself on a terminal; silent elsewhere (logs and pipes get the summary)."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stdout
        self.live = bool(getattr(self.stream, "isatty", lambda: False)())
        self._shown = False

    def show(self, text: str) -> None:
        if self.live:
            print(f"\r{text}\033[K", end="", flush=True, file=self.stream)
            self._shown = True

    def done(self) -> None:
        if self._shown:
            print(file=self.stream)
            self._shown = False
