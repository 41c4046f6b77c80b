"""Checks of user settings: one coded error per kind of mistake, shared by every
component and head, so the same nonsense gets the same answer everywhere."""
import math
from typing import Any

from .errors import Errors


def check_int(name: str, value: Any, *, minimum: int = 1, optional: bool = False) -> None:
    """Raise E024 unless `value` is an int >= `minimum` (or None when `optional`).

    bool is refused although it is an int: `max_candidates = true` in a config
    is a mistake, not 1."""
    if value is None and optional:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(
            Errors.E024.format(name=name, minimum=minimum, value=value, none=" or null" if optional else "")
        )


def check_threshold(value: Any) -> None:
    """Raise E025 unless `value` is a finite number (a threshold on logits)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(Errors.E025.format(value=value))


def check_choice(code: str, value: Any, options: Any) -> None:
    """Raise the coded error `code` (its message lists the options) unless value is one of them."""
    if value not in options:
        raise ValueError(getattr(Errors, code).format(value=value, options=list(options)))


def check_number_in(code: str, value: Any, low: float, high: float) -> None:
    """Raise the coded error `code` (its message names the range and why) unless
    value is a number (not a bool) from low to high, both included."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
        raise ValueError(getattr(Errors, code).format(value=value))
