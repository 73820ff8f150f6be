"""Errors the user is meant to see.

Raise :class:`UserFacingError` from any command handler when the input is wrong or the
action is not allowed; the command tree's error handler turns it into a short ephemeral
reply. Anything else that escapes a handler is treated as a bug: logged with context, and
the user gets a polite apology.
"""

from collections.abc import Iterator
from contextlib import contextmanager


class UserFacingError(Exception):
    """A problem the user can fix; ``str(error)`` is shown to them as is."""


class StartupError(Exception):
    """Start-up cannot go on; ``str(error)`` is the one line printed before exiting."""


class DatabaseUnavailable(Exception):
    """The database cannot be reached right now (PostgreSQL restarting, network down).

    Raised instead of the driver's many connection errors so that callers can answer
    "try again in a moment" without knowing which backend they talk to.
    """


class FieldError(UserFacingError):
    """A refused value of one named input (``time``, ``wake``, ``zone``…); ``str(error)`` is
    shown as is. Every front-end places the message by ``field`` — beside a form's input, or
    (Discord) just as the reply — without running the parser a second time to find out which
    input it was about."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@contextmanager
def refusing(field: str) -> Iterator[None]:
    """Inside, a parser's :class:`UserFacingError` is the refusal of ``field`` (a
    :class:`FieldError` that already names a field keeps it)."""
    try:
        yield
    except FieldError:
        raise
    except UserFacingError as error:
        raise FieldError(field, str(error)) from None
