"""The capacity plan of the coming day, kept fresh in the running bot for ``/metrics`` and
``/healthz`` (issue #21): an operator sees a day that will skip reminders before it comes.

Every :attr:`PlanWatch.EVERY_S` the watch runs the planner (:func:`services.capacity.plan_next_day`,
what ``python -m bot capacity`` prints, without what only the report needs) and publishes:

* ``steady_plan_peak_to_capacity`` — the next 24 hours' busiest minute against a minute of
  ``SEND_RATE_PER_S``;
* ``steady_plan_predicted_skips`` — occurrences the engine is predicted to skip as "too
  busy" in them, per kind;
* ``steady_plan_age_seconds`` — how old that plan is.

``/healthz`` stays 200 whatever the plan says (a bot that will be over capacity tonight is
working now) but carries the plan, with a note when it predicts skips.

The plan is the deployment's, not the process's: every process of a token reads the same
database against the same shared rate. So only the process that owns shard 0 (or the only
process) keeps it; the others would print the same figures, and summing them would lie.

Its CPU part (expanding schedules, the per-second prediction) runs in a worker thread
(``plan_next_day`` offloads it), so the event loop that sends reminders keeps its turn;
with Python's GIL that costs the loop at most a switch interval (5 ms) now and then while
a plan is being made, once every quarter hour.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from domain.errors import DatabaseUnavailable
from services import metrics
from services.capacity import KINDS, CapacityPlan, plan_next_day
from storage.database import Database

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PlanSummary:
    """What ``/healthz`` shows of the latest plan."""

    planned_at: datetime
    hours: float
    peak_to_capacity: float
    predicted_skips: int

    @property
    def note(self) -> str | None:
        if self.predicted_skips <= 0:
            return None
        return (
            f"the plan of the next {self.hours:g} h predicts {self.predicted_skips} reminders "
            "skipped as too busy (more due than SEND_RATE_PER_S sends in time): run "
            "`python -m bot capacity` and see docs/timing.md"
        )

    def as_json(self) -> dict[str, object]:
        return {
            "planned_at": self.planned_at.isoformat(),
            "hours": self.hours,
            "peak_to_capacity": round(self.peak_to_capacity, 3),
            "predicted_skips": self.predicted_skips,
        }


class PlanWatch:
    EVERY_S = 900.0  # the load changes as members subscribe; a quarter hour is fresh enough
    HOURS = 24.0

    def __init__(self, db: Database, capacity_per_s: float, clock: Callable[[], datetime]) -> None:
        self.db = db
        self.capacity_per_s = capacity_per_s
        self.clock = clock
        self.latest: PlanSummary | None = None
        self._task: asyncio.Task[None] | None = None

    async def refresh(self) -> PlanSummary:
        """Plan the coming day now and publish it."""
        now = self.clock()
        plan = await plan_next_day(
            self.db,
            now=now,
            capacity_per_s=self.capacity_per_s,
            hours=self.HOURS,
            for_report=False,
            offload=True,
        )
        self.latest = summary = summarise(plan, now, self.HOURS)
        metrics.PLAN_PEAK_TO_CAPACITY.set(summary.peak_to_capacity)
        for kind in KINDS:
            prediction = plan.new.kinds.get(kind)
            skipped = round(prediction.skipped) if prediction is not None else 0
            metrics.PLAN_PREDICTED_SKIPS.labels(kind).set(skipped)
        metrics.PLAN_AGE.set_function(lambda: (self.clock() - now).total_seconds())
        if summary.note:
            log.warning("capacity: %s", summary.note)
        return summary

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="capacity-plan")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def _run(self) -> None:
        while True:
            try:
                await self.refresh()
            except DatabaseUnavailable as error:
                log.info("capacity plan not refreshed: %s", error)
            except Exception:  # a plan is advice: never let it stop the bot
                log.exception("capacity plan failed")
            await asyncio.sleep(self.EVERY_S)


def summarise(plan: CapacityPlan, planned_at: datetime, hours: float) -> PlanSummary:
    return PlanSummary(
        planned_at=planned_at,
        hours=hours,
        peak_to_capacity=plan.load.peak_to_capacity,
        predicted_skips=round(plan.new.skipped),
    )
