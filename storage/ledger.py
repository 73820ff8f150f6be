"""The delivery ledger (``deliveries``): one row per occurrence, the exactly-once record.

An occurrence is claimed (row inserted, state ``claimed``) in the same transaction that
advances its subscription, marked ``sending`` right before each request to Discord, and
``sent``/``failed``/… after. The row's ``nonce`` is both the occurrence key (unique) and the
Discord message nonce, so a resend after a crash between send and record is deduplicated
by Discord (``enforce_nonce``) instead of creating a second message.

Several processes on one database: each claimed row names its owner (``claimed_by``, a
:class:`Claimant`) and how long the claim holds (``lease_until``). The owner renews the lease
of what it still holds (:func:`renew`); a row whose lease lapsed belongs to a process that
died and is taken over by whichever process looks first (:func:`take_over`, ``FOR UPDATE
SKIP LOCKED`` on PostgreSQL), then sent with the same nonce. Only the owner may mark a row
``sending`` (:func:`mark_sending`), so a process that was merely slow and lost its claim
does not send it too.
"""

from __future__ import annotations

import os
import secrets
import socket
import zlib
from dataclasses import dataclass, field

from domain.enums import FINAL_STATES, DeliveryState, Outcome
from storage.database import Database, Queries, Transaction, record, records

_COLUMNS = (
    "id, nonce, source, subscription_id, scheduled_at, kind, user_id, guild_id, state, "
    "channel_id, message_id, via, attempts, error, outcome, outcome_at, claimed_at, "
    "updated_at, sent_at, claimed_by, lease_until"
)
_DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"


def base36(number: int) -> str:
    if number < 0:
        raise ValueError("base36 of a negative number")
    out = ""
    while True:
        number, digit = divmod(number, 36)
        out = _DIGITS[digit] + out
        if number == 0:
            return out


# Nonces (Discord allows 25 characters): a letter for the source, then base36 numbers.
# Ids are at most 13 base36 digits (2**63) and a unix time in this century 6, so the
# longest, a test's "t" + user id + "." + time + "." + kind code, is 24 characters.
def nonce_for_schedule(subscription_id: int, scheduled_at: int) -> str:
    return f"s{base36(subscription_id)}.{base36(scheduled_at)}"


def nonce_for_snooze(snooze_id: int) -> str:
    return f"z{base36(snooze_id)}"


def nonce_for_test_send(user_id: int, at: int, kind: str) -> str:
    """One test send per member, kind and second: a double-tap of the same ``/remind test``
    is one message, while tests of two kinds in the same second are two. The kind is two
    base36 digits of its CRC-32 (24 characters at most in all); a test checks the shipped
    kinds' codes are distinct."""
    return f"t{base36(user_id)}.{base36(at)}.{kind_code(kind)}"


def kind_code(kind: str) -> str:
    return base36(zlib.crc32(kind.encode()) % 36**2)


def _process_name() -> str:
    # Host and pid say which process it was in the logs; the random tail keeps a restarted
    # process (same pid in a fresh container) from inheriting its predecessor's claims.
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{secrets.token_hex(3)}"


@dataclass(frozen=True)
class Claimant:
    """One bot process as the owner of claims, and how long its claims hold unrenewed.

    ``lease_s`` bounds how long the occurrences of a process killed with -9 wait before
    another process sends them; the owner renews its leases every third of it.
    """

    name: str = field(default_factory=_process_name)
    lease_s: int = 30

    def lease_until(self, now: int) -> int:
        return now + self.lease_s


@dataclass(frozen=True)
class Delivery:
    id: int
    nonce: str
    source: str
    subscription_id: int | None
    scheduled_at: int
    kind: str
    user_id: int | None
    guild_id: int | None
    state: str
    channel_id: int | None = None
    message_id: int | None = None
    via: str | None = None
    attempts: int = 0
    error: str | None = None
    outcome: str | None = None
    outcome_at: int | None = None
    claimed_at: int = 0
    updated_at: int = 0
    sent_at: int | None = None
    claimed_by: str | None = None
    lease_until: int | None = None


@dataclass(frozen=True)
class NewDelivery:
    nonce: str
    source: str
    subscription_id: int | None
    scheduled_at: int
    kind: str
    user_id: int | None
    guild_id: int | None
    state: str = DeliveryState.CLAIMED
    error: str | None = None


_INSERT = (
    "INSERT INTO deliveries (nonce, source, subscription_id, scheduled_at, kind, user_id, "
    "guild_id, state, error, claimed_at, updated_at, claimed_by, lease_until) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (nonce) DO NOTHING"
)


def _insert_values(new: NewDelivery, now: int, claimant: Claimant) -> tuple[object, ...]:
    return (
        new.nonce,
        new.source,
        new.subscription_id,
        new.scheduled_at,
        new.kind,
        new.user_id,
        new.guild_id,
        new.state,
        new.error,
        now,
        now,
        claimant.name,
        claimant.lease_until(now),
    )


async def insert(tx: Queries, new: NewDelivery, now: int, claimant: Claimant) -> Delivery | None:
    """Insert an occurrence owned by ``claimant``; None if that occurrence (nonce) was
    already recorded. Takes ``tx`` because it may run inside the caller's transaction."""
    row = await tx.fetchone(f"{_INSERT} RETURNING {_COLUMNS}", _insert_values(new, now, claimant))
    return record(Delivery, row) if row else None


async def insert_claims(
    tx: Transaction, rows: list[NewDelivery], now: int, claimant: Claimant
) -> list[Delivery]:
    """Record a batch of occurrences (claimed and missed) inside the claim's transaction;
    returns the ``claimed`` ones this call inserted, earliest first. An occurrence already
    recorded (same nonce) is left as it is and not returned, so it is never queued twice.
    How the batch is written is the backend's (``Transaction.insert_deliveries``)."""
    if not rows:
        return []
    found = await tx.insert_deliveries(rows, now, claimant, _COLUMNS)
    return sorted(records(Delivery, found), key=lambda d: (d.scheduled_at, d.id))


async def claim_new(
    db: Database, new: NewDelivery, now: int, claimant: Claimant
) -> Delivery | None:
    async with db.transaction() as tx:
        return await insert(tx, new, now, claimant)


# --- leases ------------------------------------------------------------------------------------


async def take_over(
    db: Database, claimant: Claimant, now: int, limit: int, *, lapsed_only: bool = True
) -> list[Delivery]:
    """Make ``claimant`` the owner of pending rows whose lease lapsed, earliest first.

    ``lapsed_only=False`` takes every pending row: a process starting on a database nobody
    else shares (SQLite) owns whatever the previous run left, without waiting for its leases.
    Rows another process is taking over at the same moment are skipped (PostgreSQL).
    """
    lapsed = " AND (lease_until IS NULL OR lease_until < ?)" if lapsed_only else ""
    params: list[object] = [claimant.name, claimant.lease_until(now)]
    params += [now] if lapsed_only else []
    async with db.transaction() as tx:
        found = await tx.fetchall(
            "UPDATE deliveries SET claimed_by = ?, lease_until = ? WHERE id IN ("
            f"SELECT id FROM deliveries WHERE state IN ('claimed', 'sending'){lapsed} "
            f"ORDER BY scheduled_at, id LIMIT ?{tx.skip_locked}) RETURNING {_COLUMNS}",
            [*params, limit],
        )
    return sorted(records(Delivery, found), key=lambda d: (d.scheduled_at, d.id))


async def any_lapsed(db: Database, now: int) -> bool:
    """Is there a pending row whose owner stopped renewing it (cheap, on the lease index)?"""
    return bool(
        await db.fetchval(
            "SELECT EXISTS (SELECT 1 FROM deliveries WHERE state IN ('claimed', 'sending') "
            "AND (lease_until IS NULL OR lease_until < ?))",
            (now,),
        )
    )


async def earliest_lease_end(db: Database) -> int | None:
    """When the first lease of a pending row ends (the dispatcher wakes then to look)."""
    value = await db.fetchval(
        "SELECT min(lease_until) FROM deliveries WHERE state IN ('claimed', 'sending')"
    )
    return None if value is None else int(value)


async def renew(db: Database, claimant: Claimant, ids: list[int], now: int) -> None:
    """Extend the leases of the rows this process still holds (queued or being sent)."""
    until = claimant.lease_until(now)
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        marks = ",".join("?" for _ in chunk)
        await db.execute(
            f"UPDATE deliveries SET lease_until = ? WHERE claimed_by = ? AND id IN ({marks}) "
            "AND state IN ('claimed', 'sending')",
            [until, claimant.name, *chunk],
        )


async def release(db: Database, claimant: Claimant) -> int:
    """A clean shutdown: what this process still holds is free for others at once."""
    return await db.execute(
        "UPDATE deliveries SET lease_until = 0 WHERE claimed_by = ? "
        "AND state IN ('claimed', 'sending')",
        (claimant.name,),
    )


async def get(db: Database, delivery_id: int) -> Delivery | None:
    row = await db.fetchone(f"SELECT {_COLUMNS} FROM deliveries WHERE id = ?", (delivery_id,))
    return record(Delivery, row) if row else None


async def pending(db: Database, limit: int = 10_000) -> list[Delivery]:
    """Occurrences left claimed or in flight (by a crash or a stop), earliest first."""
    rows = await db.fetchall(
        f"SELECT {_COLUMNS} FROM deliveries WHERE state IN ('claimed', 'sending') "
        "ORDER BY scheduled_at, id LIMIT ?",
        (limit,),
    )
    return records(Delivery, rows)


async def mark_sending(
    db: Database, delivery_id: int, channel_id: int, now: int, claimant: Claimant
) -> bool:
    """Recorded before every request: from here on a crash means "maybe sent".

    False if the row is no longer ``claimant``'s (another process took it over after this
    one stalled past its lease): the caller must not send it.
    """
    changed = await db.execute(
        "UPDATE deliveries SET state = 'sending', channel_id = ?, attempts = attempts + 1, "
        "updated_at = ?, lease_until = ? WHERE id = ? AND claimed_by = ? "
        "AND state IN ('claimed', 'sending')",
        (channel_id, now, claimant.lease_until(now), delivery_id, claimant.name),
    )
    return changed > 0


async def mark_sent(
    db: Database, delivery_id: int, channel_id: int, message_id: int, via: str, now: int
) -> None:
    await db.execute(
        "UPDATE deliveries SET state = 'sent', channel_id = ?, message_id = ?, via = ?, "
        "error = NULL, sent_at = ?, updated_at = ? WHERE id = ?",
        (channel_id, message_id, via, now, now, delivery_id),
    )


async def mark_final(
    db: Database, delivery_id: int, state: str, error: str | None, now: int
) -> None:
    if state not in FINAL_STATES or state == DeliveryState.SENT:
        raise ValueError(f"not a final non-sent state: {state}")
    # Only a pending row: a process that stalled past its lease must not overwrite the
    # "sent" that the process which took the row over recorded meanwhile.
    await db.execute(
        "UPDATE deliveries SET state = ?, error = ?, updated_at = ? WHERE id = ? "
        "AND state IN ('claimed', 'sending')",
        (state, error, now, delivery_id),
    )


async def set_outcome(db: Database, delivery_id: int, outcome: str, now: int) -> bool:
    """Record Done or Snoozed on a sent reminder. Done wins over Snoozed; repeats are no-ops."""
    outcome = Outcome(outcome)  # ValueError for anything else
    guard = (
        "outcome IS NULL"
        if outcome == Outcome.SNOOZED
        else "(outcome IS NULL OR outcome = 'snoozed')"
    )
    changed = await db.execute(
        f"UPDATE deliveries SET outcome = ?, outcome_at = ?, updated_at = ? WHERE id = ? AND {guard}",
        (outcome, now, now, delivery_id),
    )
    return changed > 0


async def for_user_since(db: Database, user_id: int, since: int) -> list[Delivery]:
    rows = await db.fetchall(
        f"SELECT {_COLUMNS} FROM deliveries WHERE user_id = ? AND scheduled_at >= ? "
        "ORDER BY scheduled_at",
        (user_id, since),
    )
    return records(Delivery, rows)


async def prune(db: Database, before: int, limit: int = 5_000) -> int:
    """Delete finished rows scheduled before ``before`` (a bounded batch); returns how many."""
    return await db.execute(
        "DELETE FROM deliveries WHERE id IN (SELECT id FROM deliveries WHERE scheduled_at < ? "
        "AND state NOT IN ('claimed', 'sending') LIMIT ?)",
        (before, limit),
    )


def as_export(d: Delivery) -> dict[str, object]:
    def snowflake(value: int | None) -> str | None:
        return str(value) if value is not None else None

    return {
        "id": d.id,
        "kind": d.kind,
        "source": d.source,
        "scheduled_at": d.scheduled_at,
        "state": d.state,
        "via": d.via,
        "channel_id": snowflake(d.channel_id),
        "message_id": snowflake(d.message_id),
        "attempts": d.attempts,
        "error": d.error,
        "outcome": d.outcome,
        "outcome_at": d.outcome_at,
        "sent_at": d.sent_at,
    }
