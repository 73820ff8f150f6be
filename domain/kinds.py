"""The reminder kinds, each defined once: what ``/remind`` offers, what the content must hold,
what a reminder looks like, when it fires by default, how late it may still be sent after
downtime, and its timing tolerance (how early it may go, how late it is still worth sending).

Adding a kind is one :class:`KindSpec` in :data:`MEMBER_KINDS` plus its messages in
``content/reminders.yaml``: the command choices, the content schema, the renderer, the
schedule maths and the service all read it from here.
"""

from __future__ import annotations

from dataclasses import KW_ONLY, dataclass
from datetime import time, timedelta
from enum import StrEnum

# A member's wake-up time and bedtime until they set theirs with /remind schedule.
DEFAULT_WAKE = time(7, 0)
DEFAULT_BED = time(23, 0)
# How late an occurrence missed while the bot was down may still be sent, unless a kind says.
DEFAULT_GRACE = timedelta(minutes=30)
# Hours between a repeating kind's reminders unless the member chose (``every``, 1 to 6).
DEFAULT_EVERY_HOURS = 2


class ReminderKind(StrEnum):
    HYDRATION = "hydration"
    STRETCHING = "stretching"
    SLEEP = "sleep"
    CAFFEINE = "caffeine"
    # A server's daily tip in a guild channel rides the same engine.
    DAILY_TIP = "daily_tip"


@dataclass(frozen=True)
class Timing:
    """A kind's timing tolerance around an occurrence's due instant, chosen and justified in
    ``docs/timing.md``.

    ``early``: how long before it is due it may go, so that a peak can be spread over the
    quiet seconds before it. ``late``: how long after it is due it is still worth sending;
    later than that, it is not sent (recorded as skipped because the bot was too busy).
    Neither applies to ``/remind test`` (sent now) or to the downtime rule (``grace``).
    """

    early: timedelta
    late: timedelta

    def within(self, lateness_s: float) -> bool:
        """Whether a send ``lateness_s`` seconds after the due instant (negative: early) is
        inside the tolerance."""
        return -self.early.total_seconds() <= lateness_s <= self.late.total_seconds()


class TipTopicId(StrEnum):
    """The topics of ``content/tips.yaml``, in the order ``/tips`` offers them and the daily
    tip rotates through them; the content must hold each exactly once."""

    HYDRATION = "hydration"
    STRESS = "stress"
    SLEEP = "sleep"
    STIMULANTS = "stimulants"
    STRETCHING = "stretching"


#: Each topic's name among ``/tips``'s choices.
TIP_TOPIC_LABELS: dict[TipTopicId, str] = {
    TipTopicId.HYDRATION: "Hydration",
    TipTopicId.STRESS: "Stress",
    TipTopicId.SLEEP: "Sleep",
    TipTopicId.STIMULANTS: "Caffeine and other stimulants",
    TipTopicId.STRETCHING: "Stretching for night cramps",
}


@dataclass(frozen=True)
class KindSpec:
    """One kind of a member's reminder.

    Default times derive from the member's wake-up time W and bedtime B: a repeating kind
    fires every ``every`` hours (default 2) from W+1h to B−1h; any other fires once,
    ``before_bed`` before B. ``timing`` is how early it may go and how late it is still
    worth sending (``docs/timing.md``); every kind states its own.
    """

    kind: ReminderKind
    label: str  # its name in /remind's choices, /remind list and /remind stats
    title: str  # the title of the reminder itself
    tip_topic: TipTopicId  # the tips.yaml topic its "one practical tip" comes from
    before_bed: timedelta | None = None
    repeats: bool = False
    grace: timedelta = DEFAULT_GRACE
    _: KW_ONLY
    timing: Timing

    @property
    def name(self) -> str:
        """Its value in commands, the database and ``content/reminders.yaml``."""
        return self.kind.value


MEMBER_KINDS: tuple[KindSpec, ...] = (
    KindSpec(
        ReminderKind.HYDRATION,
        label="Hydration",
        title="💧 Time for a glass of water",
        tip_topic=TipTopicId.HYDRATION,
        repeats=True,
        # Every 2 h by default (1 h at the shortest): a glass 10 min early changes nothing;
        # half an interval late it is closer to the next one, and an hour late worse than none.
        timing=Timing(early=timedelta(minutes=10), late=timedelta(minutes=30)),
    ),
    KindSpec(
        ReminderKind.STRETCHING,
        label="Stretching",
        title="🧘 Time to stretch before bed",
        tip_topic=TipTopicId.STRETCHING,
        before_bed=timedelta(minutes=60),
        # Bed − 60 min: 15 min early is still "before bed"; 20 min late keeps it ahead of the
        # wind-down at bed − 30 min.
        timing=Timing(early=timedelta(minutes=15), late=timedelta(minutes=20)),
    ),
    KindSpec(
        ReminderKind.SLEEP,
        label="Sleep wind-down",
        title="🌙 Time to wind down for sleep",
        tip_topic=TipTopicId.SLEEP,
        before_bed=timedelta(minutes=30),
        # Bed − 30 min: little room either way; 10 min late is already a third of the wind-down.
        timing=Timing(early=timedelta(minutes=5), late=timedelta(minutes=10)),
    ),
    KindSpec(
        ReminderKind.CAFFEINE,
        label="Caffeine cut-off",
        title="☕ Caffeine cut-off time",
        tip_topic=TipTopicId.STIMULANTS,
        before_bed=timedelta(hours=8),
        grace=timedelta(minutes=60),
        # Bed − 8 h: stopping caffeine half an hour sooner costs nothing; an hour late still
        # leaves 7 h before bed (caffeine's half-life is about 5 h), later it stops helping.
        timing=Timing(early=timedelta(minutes=30), late=timedelta(minutes=60)),
    ),
)
#: A server's daily tip (``/config daily-tip``), which has no :class:`KindSpec`: nobody waits
#: for it at a precise minute, so it may go an hour early or three hours late.
DAILY_TIP_TIMING = Timing(early=timedelta(hours=1), late=timedelta(hours=3))
#: For a kind this version does not know (none should reach the engine): not early, and no
#: later than the downtime grace.
DEFAULT_TIMING = Timing(early=timedelta(0), late=DEFAULT_GRACE)
KIND_SPECS: dict[str, KindSpec] = {spec.name: spec for spec in MEMBER_KINDS}
KIND_LABELS: dict[str, str] = {spec.name: spec.label for spec in MEMBER_KINDS}


def spec_of(kind: str) -> KindSpec:
    """The definition of a member's reminder kind (``KeyError`` for anything else)."""
    return KIND_SPECS[kind]


def label_of(kind: str) -> str:
    """What members read for ``kind`` ("Sleep wind-down"); the raw name for an unknown one."""
    return KIND_LABELS.get(kind, kind)


def timing_for(kind: str) -> Timing:
    """How early an occurrence of ``kind`` may go and how late it is still worth sending."""
    if kind == ReminderKind.DAILY_TIP:
        return DAILY_TIP_TIMING
    spec = KIND_SPECS.get(kind)
    return spec.timing if spec is not None else DEFAULT_TIMING


def grace_for(kind: str) -> timedelta:
    """How late an occurrence of ``kind`` missed during downtime may still be sent."""
    spec = KIND_SPECS.get(kind)
    return spec.grace if spec is not None else DEFAULT_GRACE
