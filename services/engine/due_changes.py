""" "A fire time changed: look again now" — from the services to the dispatcher.

The services and the ``/config`` service are built with :meth:`DueChanges.changed` as their
``on_change``; the dispatcher, built with the same object, listens from its start to its
stop. It is built first because the engine's wiring has one cycle otherwise: the dispatcher
feeds the sender, the sender reports refused posts to the ``/config`` service, and that
service turns a daily tip off — a change the dispatcher must hear about.
"""

from __future__ import annotations

from collections.abc import Callable


class DueChanges:
    def __init__(self) -> None:
        self._listener: Callable[[], None] | None = None

    def changed(self) -> None:
        """Something moved a fire time (subscribe, snooze, schedule, a tip turned off…)."""
        if self._listener is not None:
            self._listener()

    def listen(self, listener: Callable[[], None]) -> None:
        self._listener = listener

    def stop_listening(self) -> None:
        self._listener = None
