"""The studio's plain words: what each setting is called on the page, its range, and the engineer's term.

A designer reads "Variety" where an engineer reads "truncation psi". Each :class:`Setting` carries
both, and checks a value against its range in the page's own words, so a typed value outside the
range is refused with a sentence (never clamped silently), the same for the page and for its API.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

from maskgen.errors import MaskgenError


def number(value: float) -> str:
    """A number as a person reads it: 0.7, 64, 4,294,967,295."""
    if float(value).is_integer():
        return f"{int(value):,}" if abs(value) >= 10_000 else str(int(value))
    return f"{value:g}"


@dataclass(frozen=True)
class Setting:
    """One number the page asks for."""

    name: str  # as the page labels it
    low: float
    high: float
    default: float
    step: float = 1.0
    low_word: str = ""  # what the low end means ("safe")
    high_word: str = ""  # what the high end means ("wild")
    term: str = ""  # what an engineer calls it
    whole: bool = False

    def span(self) -> str:
        """'0.3 (safe) to 1.2 (wild)'."""
        low = number(self.low) + (f" ({self.low_word})" if self.low_word else "")
        high = number(self.high) + (f" ({self.high_word})" if self.high_word else "")
        return f"{low} to {high}"

    def check(self, value: Any, high: float | None = None) -> float:
        """``value`` as a number inside the range (``high``: a tighter top for this model), or one line."""
        top = self.high if high is None else high
        try:
            got = float(value)
        except (TypeError, ValueError):
            raise MaskgenError(
                f"{self.name} must be a number from {self._span(top)}; got {value!r}"
            ) from None
        if not math.isfinite(got) or not self.low <= got <= top:
            shown = number(got) if math.isfinite(got) else str(value)
            raise MaskgenError(
                f"{self.name} goes from {self._span(top)}; {shown} is outside that, so nothing was made"
            )
        if self.whole and not got.is_integer():
            raise MaskgenError(f"{self.name} must be a whole number from {self._span(top)}; got {got:g}")
        return got

    def check_whole(self, value: Any, high: float | None = None) -> int:
        return int(self.check(value, high))

    def renamed(self, name: str) -> Setting:
        """The same range under another name ("mask A's number")."""
        return replace(self, name=name)

    def _span(self, top: float) -> str:
        if top == self.high:
            return self.span()
        return number(self.low) + (f" ({self.low_word})" if self.low_word else "") + f" to {number(top)}"

    def info(self) -> str:
        """The control's tooltip: what the ends mean, and the engineer's term."""
        parts = []
        if self.low_word and self.high_word:
            parts.append(f"{number(self.low)} {self.low_word} ... {number(self.high)} {self.high_word}")
        if self.term:
            parts.append(f"engineers: {self.term}")
        return "; ".join(parts)


# Truncation psi: 0.7 is the usual trade (typical masks, little smearing); below 0.3 every mask looks
# alike, above 1.2 the base models draw smeared, broken masks.
VARIETY = Setting("Variety", 0.3, 1.2, 0.7, 0.05, "safe", "wild", "truncation psi")
HOW_MANY = Setting("How many masks", 1, 64, 8, 1, whole=True)
MASK_NUMBER = Setting("Mask number", 0, 2**32 - 1, 0, 1, term="the seed", whole=True)
MIX_POINT = Setting(
    "Where B takes over", 0, 16, 4, 1, "all from B", "all from A",
    "the crossover layer, A's styles below it", whole=True,
)  # fmt: skip
SEARCH_STEPS = Setting("Search effort", 1, 1000, 100, 1, "quick", "close", "projection steps", whole=True)
FRAMES = Setting("Frames from one mask to the next", 1, 120, 12, 1, whole=True)
SPEED = Setting("Speed", 1, 60, 12, 1, "slow", "fast", "frames per second")
MINUTES = Setting("Minutes of training", 1, 240, 15, 1, whole=True)

# Plain names for the engineer's choices.
GRAIN_FIXED = "fixed"  # noise maps of a projection kept as found: mix and walk show it exactly
GRAIN_FREE = "random"
