"""Subscriptions and snoozes, and the batch claim that turns due rows into ledger rows.

``next_fire_at`` (unix seconds UTC, indexed) makes "what is due" an index range scan, so
the dispatcher never loads more rows than one batch; "when is the next one" is one index
seek. The schedule maths itself is passed in (``plan``), keeping SQL here and time rules in
``domain.schedule``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace

from domain.enums import DeliveryState, Reason, Source
from storage import dashboard_sessions, ledger, tombstones
from storage.database import Database, Queries, record, records
from storage.ledger import Claimant, Delivery, NewDelivery

_COLUMNS = (
    "id, kind, user_id, guild_id, channel_id, times, custom_time, every_hours, zone, "
    "next_fire_at, active, paused_reason, created_at, updated_at"
)
_COLUMN_NAMES = tuple(name.strip() for name in _COLUMNS.split(","))
_SNOOZE_COLUMNS = (
    "id, subscription_id, kind, user_id, guild_id, from_delivery_id, fire_at, created_at"
)


@dataclass(frozen=True)
class Subscription:
    id: int
    kind: str
    user_id: int | None
    guild_id: int | None
    channel_id: int | None
    times: str
    custom_time: str | None
    every_hours: int | None
    zone: str
    next_fire_at: int | None
    active: bool
    paused_reason: str | None
    created_at: int
    updated_at: int

    def __post_init__(self) -> None:
        object.__setattr__(self, "active", bool(self.active))  # SQLite has no boolean: 0 or 1


@dataclass(frozen=True)
class Plan:
    """What to do with one due subscription: deliver or record as missed, and when next.

    ``next_fire_at=None`` deactivates the subscription (its stored schedule is unusable,
    e.g. a zone tzdata no longer knows): one bad row must not stall the dispatcher.
    """

    next_fire_at: int | None
    deliver_at: int | None = None
    missed_at: int | None = None
    # Due while the bot was up but busy, and past its kind's late tolerance: not sent,
    # recorded ``missed`` with ``Reason.TOO_BUSY`` (issue #21).
    skipped_at: int | None = None


@dataclass(frozen=True)
class Snooze:
    id: int
    subscription_id: int | None
    kind: str
    user_id: int
    guild_id: int | None
    from_delivery_id: int
    fire_at: int
    created_at: int


# --- reads ---------------------------------------------------------------------------------


async def get(db: Database, subscription_id: int) -> Subscription | None:
    row = await db.fetchone(
        f"SELECT {_COLUMNS} FROM subscriptions WHERE id = ?", (subscription_id,)
    )
    return record(Subscription, row) if row else None


async def for_member(db: Database, user_id: int) -> list[Subscription]:
    rows = await db.fetchall(
        f"SELECT {_COLUMNS} FROM subscriptions WHERE user_id = ? ORDER BY kind", (user_id,)
    )
    return records(Subscription, rows)


async def for_guild(db: Database, guild_id: int, kind: str) -> Subscription | None:
    row = await db.fetchone(
        f"SELECT {_COLUMNS} FROM subscriptions WHERE guild_id = ? AND kind = ? AND user_id IS NULL",
        (guild_id, kind),
    )
    return record(Subscription, row) if row else None


async def earliest_due(db: Database) -> int | None:
    """The earliest ``next_fire_at`` or snooze time: one index seek on each table."""
    row = await db.fetchone(
        "SELECT (SELECT min(next_fire_at) FROM subscriptions) AS subscription, "
        "(SELECT min(fire_at) FROM snoozes) AS snooze"
    )
    assert row is not None
    candidates = [value for value in (row["subscription"], row["snooze"]) if value is not None]
    return min(candidates) if candidates else None


async def snoozes_for_member(db: Database, user_id: int) -> list[Snooze]:
    rows = await db.fetchall(
        f"SELECT {_SNOOZE_COLUMNS} FROM snoozes WHERE user_id = ? ORDER BY fire_at", (user_id,)
    )
    return records(Snooze, rows)


# --- writes --------------------------------------------------------------------------------


async def upsert_member_subscription(
    db: Database,
    *,
    user_id: int,
    guild_id: int | None,
    kind: str,
    times: str,
    custom_time: str | None,
    every_hours: int | None,
    zone: str,
    next_fire_at: int,
    now: int,
) -> Subscription:
    """Subscribe (or re-subscribe, replacing times) a member to one kind; active again."""
    async with db.transaction() as tx:
        row = await tx.fetchone(
            "INSERT INTO subscriptions (kind, user_id, guild_id, times, custom_time, every_hours, "
            "zone, next_fire_at, active, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?) "
            "ON CONFLICT (user_id, kind) WHERE user_id IS NOT NULL DO UPDATE SET "
            "guild_id = coalesce(excluded.guild_id, subscriptions.guild_id), times = excluded.times, "
            "custom_time = excluded.custom_time, every_hours = excluded.every_hours, "
            "zone = excluded.zone, next_fire_at = excluded.next_fire_at, active = 1, "
            f"paused_reason = NULL, updated_at = excluded.updated_at RETURNING {_COLUMNS}",
            (
                kind,
                user_id,
                guild_id,
                times,
                custom_time,
                every_hours,
                zone,
                next_fire_at,
                now,
                now,
            ),
        )
    assert row is not None
    return record(Subscription, row)


async def upsert_guild_subscription(
    db: Database,
    *,
    guild_id: int,
    kind: str,
    channel_id: int,
    times: str,
    zone: str,
    next_fire_at: int,
    now: int,
) -> Subscription:
    """A server-wide scheduled post (the daily tip) in ``channel_id``."""
    async with db.transaction() as tx:
        row = await tx.fetchone(
            "INSERT INTO subscriptions (kind, guild_id, channel_id, times, zone, next_fire_at, "
            "active, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, 1, ?, ?) "
            "ON CONFLICT (guild_id, kind) WHERE user_id IS NULL DO UPDATE SET "
            "channel_id = excluded.channel_id, times = excluded.times, zone = excluded.zone, "
            "next_fire_at = excluded.next_fire_at, active = 1, paused_reason = NULL, "
            f"updated_at = excluded.updated_at RETURNING {_COLUMNS}",
            (kind, guild_id, channel_id, times, zone, next_fire_at, now, now),
        )
    assert row is not None
    return record(Subscription, row)


async def insert_rows(tx: Queries, subs: Sequence[Subscription]) -> None:
    """Write whole subscriptions as they are, ids included: a population written straight
    into storage (``testkit.population``, the simulated day). Every column a read returns is
    written, from the field of its name, so a column added here reaches that writer too."""
    placeholders = ", ".join("?" for _ in _COLUMN_NAMES)
    await tx.executemany(
        f"INSERT INTO subscriptions ({_COLUMNS}) VALUES ({placeholders})",
        # ``active`` as 0/1: the column is an INTEGER on both engines.
        [
            tuple(
                int(sub.active) if name == "active" else getattr(sub, name)
                for name in _COLUMN_NAMES
            )
            for sub in subs
        ],
    )


@dataclass(frozen=True)
class Reschedule:
    id: int
    times: str
    zone: str
    next_fire_at: int | None  # None keeps an inactive row inactive


async def reschedule(db: Database, changes: Sequence[Reschedule], now: int) -> None:
    """New times/zone/next fire for several subscriptions, atomically."""
    if not changes:
        return
    async with db.transaction() as tx:
        await tx.executemany(
            "UPDATE subscriptions SET times = ?, zone = ?, "
            "next_fire_at = CASE WHEN active = 1 THEN CAST(? AS BIGINT) ELSE NULL END, "
            "updated_at = ? WHERE id = ?",
            [(c.times, c.zone, c.next_fire_at, now, c.id) for c in changes],
        )


async def set_next_fire(db: Database, changes: Sequence[tuple[int, int]], now: int) -> None:
    """``(id, next_fire_at)`` for active subscriptions (pause and resume move these)."""
    if not changes:
        return
    async with db.transaction() as tx:
        await tx.executemany(
            "UPDATE subscriptions SET next_fire_at = ?, updated_at = ? WHERE id = ? AND active = 1",
            [(next_at, now, sub_id) for sub_id, next_at in changes],
        )


async def reactivate(db: Database, changes: Sequence[tuple[int, int]], now: int) -> None:
    """Make inactive subscriptions fire again from ``next_fire_at``."""
    if not changes:
        return
    async with db.transaction() as tx:
        await tx.executemany(
            "UPDATE subscriptions SET active = 1, paused_reason = NULL, next_fire_at = ?, "
            "updated_at = ? WHERE id = ?",
            [(next_at, now, sub_id) for sub_id, next_at in changes],
        )


async def deactivate(db: Database, ids: Sequence[int], reason: str, now: int) -> None:
    """Stop subscriptions firing without forgetting them (DMs closed, broken channel)."""
    if not ids:
        return
    async with db.transaction() as tx:
        await tx.executemany(
            "UPDATE subscriptions SET active = 0, next_fire_at = NULL, paused_reason = ?, "
            "updated_at = ? WHERE id = ?",
            [(reason, now, sub_id) for sub_id in ids],
        )


async def deactivate_member_dm(db: Database, user_id: int, reason: str, now: int) -> list[int]:
    """Pause every active reminder of a member (their DMs are closed); returns the ids."""
    async with db.transaction() as tx:
        rows = await tx.fetchall(
            "SELECT id FROM subscriptions WHERE user_id = ? AND active = 1", (user_id,)
        )
        ids = [row["id"] for row in rows]
        await tx.execute(
            "UPDATE subscriptions SET active = 0, next_fire_at = NULL, paused_reason = ?, "
            "updated_at = ? WHERE user_id = ? AND active = 1",
            (reason, now, user_id),
        )
    return ids


async def delete_member_subscriptions(db: Database, user_id: int, kind: str | None) -> list[str]:
    """Unsubscribe from one kind (or all, ``kind=None``); returns the kinds removed."""
    where = "user_id = ?" + ("" if kind is None else " AND kind = ?")
    params: tuple[object, ...] = (user_id,) if kind is None else (user_id, kind)
    async with db.transaction() as tx:
        rows = await tx.fetchall(f"DELETE FROM subscriptions WHERE {where} RETURNING kind", params)
    return sorted(row["kind"] for row in rows)


async def delete_guild_subscription(db: Database, guild_id: int, kind: str) -> bool:
    removed = await db.execute(
        "DELETE FROM subscriptions WHERE guild_id = ? AND kind = ? AND user_id IS NULL",
        (guild_id, kind),
    )
    return removed > 0


async def add_snooze(
    db: Database,
    *,
    from_delivery: Delivery,
    fire_at: int,
    now: int,
) -> Snooze:
    """Store one extra occurrence; a second click on the same reminder returns the first."""
    assert from_delivery.user_id is not None
    async with db.transaction() as tx:
        await tx.execute(
            "INSERT INTO snoozes (subscription_id, kind, user_id, guild_id, from_delivery_id, "
            "fire_at, created_at) VALUES ("
            "(SELECT id FROM subscriptions WHERE id = ?), ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (from_delivery_id) DO NOTHING",
            (
                from_delivery.subscription_id,
                from_delivery.kind,
                from_delivery.user_id,
                from_delivery.guild_id,
                from_delivery.id,
                fire_at,
                now,
            ),
        )
        row = await tx.fetchone(
            f"SELECT {_SNOOZE_COLUMNS} FROM snoozes WHERE from_delivery_id = ?",
            (from_delivery.id,),
        )
    if row is None:
        # The snooze already fired and was consumed: report it as it was.
        return Snooze(
            0,
            from_delivery.subscription_id,
            from_delivery.kind,
            from_delivery.user_id,
            from_delivery.guild_id,
            from_delivery.id,
            fire_at,
            now,
        )
    return record(Snooze, row)


# --- the claim -----------------------------------------------------------------------------


@dataclass
class ClaimResult:
    claimed: list[Delivery]
    missed: int = 0
    rows: int = 0  # due rows processed (claimed + missed + duplicates)
    skipped: int = 0  # past their late tolerance: recorded "skipped: too busy"


# The tie order's hash (``services.engine.policy.tie_rank`` is the same in Python): Knuth's
# multiplicative hash of the id, rotated per UTC day by the golden ratio of 2**32.
_HASH_SPACE = 2**32
_KNUTH = 2654435761
_GOLDEN_STEP = 2654435769


@dataclass(frozen=True)
class ClaimOrder:
    """How to claim (issue #21; ``None`` for the old due order): what is due up to
    ``ahead_s`` seconds ahead, each kind up to ``early_s[kind]`` ahead if larger (early claims
    before a peak), in deadline order (``next_fire_at + late_s[kind]``), ties by a per-day
    hash of the subscription id; nothing due after ``until`` (the peak being filled for)
    beyond ``ahead_s``."""

    ahead_s: int
    late_s: Mapping[str, int]
    day: int
    early_s: Mapping[str, int] = field(default_factory=dict)
    until: int | None = None

    def horizon(self, now: int) -> int:
        furthest = now + max([self.ahead_s, *self.early_s.values()])
        if self.until is None:
            return furthest
        return min(furthest, max(self.until, now + self.ahead_s))

    @staticmethod
    def _by_kind(values: Mapping[str, int], floor: int) -> str:
        for kind in values:
            assert kind.replace("_", "").isalnum(), kind  # a kind's name, inlined below
        whens = " ".join(
            f"WHEN '{kind}' THEN {max(int(v), floor)}" for kind, v in sorted(values.items())
        )
        return f"(CASE kind {whens} ELSE {floor} END)" if whens else str(floor)

    def where(self) -> str:
        """Two parameters: the horizon, then now."""
        ahead = self._by_kind(self.early_s, self.ahead_s)
        return f"next_fire_at <= ? AND next_fire_at - {ahead} <= ?"

    def order_by(self) -> str:
        salt = (self.day * _GOLDEN_STEP) % _HASH_SPACE
        return (
            f"next_fire_at + {self._by_kind(self.late_s, 0)}, "
            f"((id * {_KNUTH}) % {_HASH_SPACE} + {salt}) % {_HASH_SPACE}, id"
        )


async def due_load(db: Database, until: int) -> list[tuple[int, int]]:
    """``(next_fire_at, count)`` of what is due up to ``until``, ascending (the dispatcher's
    look at the coming minutes; an index-only range scan)."""
    found = await db.fetchall(
        "SELECT next_fire_at AS at, count(*) AS n FROM subscriptions WHERE next_fire_at <= ? "
        "GROUP BY next_fire_at ORDER BY next_fire_at",
        (until,),
    )
    return [(int(row["at"]), int(row["n"])) for row in found]


async def any_due(db: Database, now: int) -> bool:
    """Cheap check before opening a write transaction (keeps an idle wake-up sub-millisecond)."""
    # The earliest due instant against now, rather than "EXISTS … WHERE next_fire_at <= ?":
    # min() is one index seek whatever plan a prepared statement gets, whereas PostgreSQL's
    # generic plan for the EXISTS scanned a million rows when none was due (150 ms).
    earliest = await earliest_due(db)
    return earliest is not None and earliest <= now


def _occurrence(sub: Subscription, scheduled_at: int) -> NewDelivery:
    return NewDelivery(
        nonce=ledger.nonce_for_schedule(sub.id, scheduled_at),
        source=Source.SCHEDULE,
        subscription_id=sub.id,
        scheduled_at=scheduled_at,
        kind=sub.kind,
        user_id=sub.user_id,
        guild_id=sub.guild_id,
    )


async def claim_due(
    db: Database,
    now: int,
    limit: int,
    plan: Callable[[Subscription], Plan],
    claimant: Claimant,
    order: ClaimOrder | None = None,
) -> ClaimResult:
    """Claim up to ``limit`` due subscriptions for ``claimant``, earliest first, in one transaction.

    The due rows are selected with ``tx.skip_locked``: processes claiming at the same moment
    each get different rows, and none waits for another.

    For each: record the occurrence to deliver (``claimed``) or the one skipped (``missed``)
    in the ledger and advance ``next_fire_at`` — all committed together, so a crash either
    leaves the row due (claimed again on restart) or claimed in the ledger (recovered from
    there), never neither and never both.
    """
    result = ClaimResult(claimed=[])
    async with db.transaction() as tx:
        if order is None:
            found = await tx.fetchall(
                f"SELECT {_COLUMNS} FROM subscriptions WHERE next_fire_at <= ? "
                f"ORDER BY next_fire_at, id LIMIT ?{tx.skip_locked}",
                (now, limit),
            )
        else:
            found = await tx.fetchall(
                f"SELECT {_COLUMNS} FROM subscriptions WHERE {order.where()} "
                f"ORDER BY {order.order_by()} LIMIT ?{tx.skip_locked}",
                (order.horizon(now), now, limit),
            )
        rows = records(Subscription, found)
        skipped = 0
        missed: list[NewDelivery] = []
        to_claim: list[NewDelivery] = []
        next_fires: list[tuple[int, int | None]] = []
        for sub in rows:
            decision = plan(sub)
            next_fires.append((sub.id, decision.next_fire_at))
            if decision.missed_at is not None:
                missed.append(
                    replace(
                        _occurrence(sub, decision.missed_at),
                        state=DeliveryState.MISSED,
                        error=Reason.OFFLINE_PAST_GRACE,
                    )
                )
            if decision.skipped_at is not None:
                skipped += 1
                missed.append(
                    replace(
                        _occurrence(sub, decision.skipped_at),
                        state=DeliveryState.MISSED,
                        error=Reason.TOO_BUSY,
                    )
                )
            if decision.deliver_at is not None:
                to_claim.append(_occurrence(sub, decision.deliver_at))
        result.claimed = await ledger.insert_claims(tx, missed + to_claim, now, claimant)
        await tx.advance_subscriptions(next_fires, now)
    result.missed = len(missed) - skipped
    result.skipped = skipped
    result.rows = len(rows)
    return result


async def claim_due_snoozes(
    db: Database, now: int, limit: int, deliver: Callable[[Snooze], bool], claimant: Claimant
) -> ClaimResult:
    """Claim due snoozes: each becomes one ledger occurrence (or ``missed``) and is removed."""
    result = ClaimResult(claimed=[])
    async with db.transaction() as tx:
        found = await tx.fetchall(
            f"SELECT {_SNOOZE_COLUMNS} FROM snoozes WHERE fire_at <= ? "
            f"ORDER BY fire_at, id LIMIT ?{tx.skip_locked}",
            (now, limit),
        )
        rows = records(Snooze, found)
        missed: list[NewDelivery] = []
        to_claim: list[NewDelivery] = []
        for snooze in rows:
            new = NewDelivery(
                nonce=ledger.nonce_for_snooze(snooze.id),
                source=Source.SNOOZE,
                subscription_id=snooze.subscription_id,
                scheduled_at=snooze.fire_at,
                kind=snooze.kind,
                user_id=snooze.user_id,
                guild_id=snooze.guild_id,
            )
            if deliver(snooze):
                to_claim.append(new)
            else:
                missed.append(
                    replace(
                        new,
                        state=DeliveryState.MISSED,
                        error=Reason.OFFLINE_PAST_GRACE,
                    )
                )
        result.claimed = await ledger.insert_claims(tx, missed + to_claim, now, claimant)
        await tx.executemany("DELETE FROM snoozes WHERE id = ?", [(s.id,) for s in rows])
    result.missed = len(missed)
    result.rows = len(rows)
    return result


# --- privacy -------------------------------------------------------------------------------


async def delete_member_data(db: Database, user_id: int, now: int | None = None) -> None:
    """Erase everything stored about a member: settings, caches, subscriptions, ledger, snoozes,
    and their dashboard sessions (logged out in every browser, their access token gone)."""
    async with db.transaction() as tx:
        await tx.execute("DELETE FROM snoozes WHERE user_id = ?", (user_id,))
        await tx.execute("DELETE FROM deliveries WHERE user_id = ?", (user_id,))
        await tx.execute("DELETE FROM subscriptions WHERE user_id = ?", (user_id,))
        await tx.execute("DELETE FROM members WHERE user_id = ?", (user_id,))
        await dashboard_sessions.delete_for_user(tx, user_id)
        await tombstones.record(tx, user_id, now)  # so a restore of an older backup deletes again


def as_export(sub: Subscription) -> dict[str, object]:
    return {
        "id": sub.id,
        "kind": sub.kind,
        "guild_id": str(sub.guild_id) if sub.guild_id else None,
        "times": sub.times.split(","),
        "custom_time": sub.custom_time,
        "every_hours": sub.every_hours,
        "zone": sub.zone,
        "next_fire_at": sub.next_fire_at,
        "active": sub.active,
        "paused_reason": sub.paused_reason,
        "created_at": sub.created_at,
    }
