"""Errors the user is meant to see.

Raise :class:`UserFacingError` from any command handler when the input is wrong or the
action is not allowed; the command tree's error handler turns it into a short ephemeral
reply. Anything else that escapes a handler is treated as a bug: logged with context, and
the user gets a polite apology.
"""


class UserFacingError(Exception):
    """A problem the user can fix; ``str(error)`` is shown to them as is."""


class StartupError(Exception):
    """Start-up cannot go on; ``str(error)`` is the one line printed before exiting."""


class DatabaseUnavailable(Exception):
    """The database cannot be reached right now (PostgreSQL restarting, network down).

    Raised instead of the driver's many connection errors so that callers can answer
    "try again in a moment" without knowing which backend they talk to.
    """
