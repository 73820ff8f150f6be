"""Validation of the values members type into ``/remind`` options.

Every parser either returns a clean value or raises :class:`UserFacingError` with a message
that says what is accepted; the message never echoes the input (which could carry
mentions or markdown), so hostile text cannot be reflected back.
"""

from __future__ import annotations

import re
from datetime import time

from domain.errors import UserFacingError

TIME_FORMATS_HINT = "21:30, 9:30pm, 9pm, 21h30"
PAUSE_DAYS_RANGE = (1, 30)
EVERY_HOURS_RANGE = (1, 6)
SNOOZE_MINUTES_RANGE = (5, 240)

# ASCII digits only: ``\d`` would also accept other scripts' digits.
_TIME = re.compile(
    r"^(?P<hour>[0-9]{1,2})"
    r"(?:(?:[:.h])(?P<minute>[0-9]{2}))?"
    r"(?P<h>h)?"
    r"\s*(?P<ampm>a\.?m\.?|p\.?m\.?)?$",
    re.IGNORECASE,
)


# Words people use for the two times of day that have one.
_NAMED_TIMES = {"noon": time(12), "midday": time(12), "midnight": time(0)}


def parse_time(text: str | None) -> time:
    """``21:30``, ``9:30pm``, ``9pm``, ``21h30`` (also ``21h``, ``9:30 PM``, ``9.30am``,
    ``noon``, ``midnight``, and ``24:00`` for midnight, as in "bed at 24:00")."""
    error = UserFacingError(f"That is not a time I understand. Accepted: {TIME_FORMATS_HINT}.")
    if text is None:
        raise error
    cleaned = text.strip()
    if not cleaned or len(cleaned) > 12:
        raise error
    if cleaned.lower() in _NAMED_TIMES:
        return _NAMED_TIMES[cleaned.lower()]
    match = _TIME.match(cleaned)
    if not match:
        raise error
    hour = int(match["hour"])
    minute = int(match["minute"] or 0)
    ampm = (match["ampm"] or "").lower().replace(".", "")
    has_separator = match["minute"] is not None or match["h"] is not None
    if minute > 59:
        raise error
    if ampm:
        if match["h"] is not None or not 1 <= hour <= 12:
            raise error
        hour = hour % 12 + (12 if ampm == "pm" else 0)
    elif not has_separator:
        # A bare "9" could mean 09:00 or 21:00; ask rather than guess.
        raise error
    elif hour == 24 and minute == 0:
        hour = 0  # 24:00 is the end of the day, which for a daily time is midnight
    elif hour > 23:
        raise error
    return time(hour, minute)


def _parse_int(value: int | str | None, low: int, high: int, message: str) -> int:
    if isinstance(value, bool):
        raise UserFacingError(message)
    if isinstance(value, str):
        stripped = value.strip()
        if not re.fullmatch(r"[0-9]{1,3}", stripped):
            raise UserFacingError(message)
        value = int(stripped)
    if not isinstance(value, int) or not low <= value <= high:
        raise UserFacingError(message)
    return value


def parse_days(value: int | str | None) -> int:
    """Days for ``/remind pause``: a whole number from 1 to 30."""
    low, high = PAUSE_DAYS_RANGE
    return _parse_int(value, low, high, f"Pause for a whole number of days from {low} to {high}.")


def parse_every(value: int | str | None) -> int:
    """Hours between hydration reminders: a whole number from 1 to 6."""
    low, high = EVERY_HOURS_RANGE
    return _parse_int(value, low, high, f"`every` is a whole number of hours from {low} to {high}.")


def parse_snooze_minutes(value: int | str | None) -> int:
    low, high = SNOOZE_MINUTES_RANGE
    return _parse_int(value, low, high, f"Snooze for {low} to {high} minutes.")
