"""Time-zone look-up for ``/remind timezone``: IANA names, city names and a few aliases.

``resolve_zone`` is strict (an exact IANA name in any case, a city, a country with one
zone, or an alias) so a typo never silently picks the wrong zone; ``suggest_zones`` is the
forgiving autocomplete (prefix matches first, then rapidfuzz).
"""

from __future__ import annotations

import re
import zoneinfo
from dataclasses import dataclass
from functools import cache
from importlib import resources
from zoneinfo import ZoneInfo

from rapidfuzz import fuzz, process

from domain.errors import UserFacingError
from domain.schedule import zone_named

_MAX_INPUT = 64
_ALLOWED = re.compile(r"^[A-Za-z0-9 _/+\-.']+$")
# "UTC+2", "GMT-5", "utc +5:30": an offset, not a place.
_OFFSET = re.compile(r"^(?:utc|gmt)\s*[+-]\s*[0-9]{1,2}(?::?[0-5][0-9])?$", re.IGNORECASE)
# How close a typo must be to a name for "Did you mean …?" ("berln" is Berlin at 91; a
# word that is no place at all, like "nowhere", only reaches the 60s against every name).
_DID_YOU_MEAN_SCORE = 75
# In the system's zoneinfo folder but nobody's time zone: "localtime" is the server's own
# clock, "Factory" a placeholder whose abbreviation is "-00".
_NOT_ZONES = frozenset({"localtime", "Factory", "posixrules"})
_REGIONS = (
    "Africa",
    "America",
    "Antarctica",
    "Arctic",
    "Asia",
    "Atlantic",
    "Australia",
    "Europe",
    "Indian",
    "Pacific",
)

# Words people type that are not a zone's city. Abbreviations map to the zone that follows
# daylight saving, which is what someone typing "EST" in July means.
ALIASES: dict[str, str] = {
    "utc": "UTC",
    "gmt": "UTC",
    "z": "UTC",
    "zulu": "UTC",
    "universal": "UTC",
    "nyc": "America/New_York",
    "new york city": "America/New_York",
    "boston": "America/New_York",
    "washington": "America/New_York",
    "miami": "America/New_York",
    "atlanta": "America/New_York",
    "philadelphia": "America/New_York",
    "est": "America/New_York",
    "edt": "America/New_York",
    "eastern": "America/New_York",
    "us eastern": "America/New_York",
    "cst": "America/Chicago",
    "cdt": "America/Chicago",
    "central": "America/Chicago",
    "dallas": "America/Chicago",
    "houston": "America/Chicago",
    "mst": "America/Denver",
    "mdt": "America/Denver",
    "mountain": "America/Denver",
    "pst": "America/Los_Angeles",
    "pdt": "America/Los_Angeles",
    "pacific": "America/Los_Angeles",
    "la": "America/Los_Angeles",
    "san francisco": "America/Los_Angeles",
    "seattle": "America/Los_Angeles",
    "uk": "Europe/London",
    "england": "Europe/London",
    "britain": "Europe/London",
    "great britain": "Europe/London",
    "bst": "Europe/London",
    "cet": "Europe/Berlin",
    "cest": "Europe/Berlin",
    "germany": "Europe/Berlin",
    "munich": "Europe/Berlin",
    "frankfurt": "Europe/Berlin",
    "hamburg": "Europe/Berlin",
    "spain": "Europe/Madrid",
    "portugal": "Europe/Lisbon",
    "india": "Asia/Kolkata",
    "ist": "Asia/Kolkata",
    "calcutta": "Asia/Kolkata",
    "mumbai": "Asia/Kolkata",
    "bombay": "Asia/Kolkata",
    "delhi": "Asia/Kolkata",
    "new delhi": "Asia/Kolkata",
    "bangalore": "Asia/Kolkata",
    "jst": "Asia/Tokyo",
    "aest": "Australia/Sydney",
    "canberra": "Australia/Sydney",
    "nz": "Pacific/Auckland",
    "new zealand": "Pacific/Auckland",
    "wellington": "Pacific/Auckland",
    "beijing": "Asia/Shanghai",
    "china": "Asia/Shanghai",
    "rio": "America/Sao_Paulo",
    "rio de janeiro": "America/Sao_Paulo",
}

POPULAR = (
    "UTC",
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Los_Angeles",
    "America/Sao_Paulo",
    "Europe/London",
    "Europe/Paris",
    "Europe/Berlin",
    "Africa/Lagos",
    "Asia/Kolkata",
    "Asia/Shanghai",
    "Asia/Tokyo",
    "Australia/Sydney",
    "Pacific/Auckland",
)


def _normalise(text: str) -> str:
    return " ".join(text.replace("_", " ").replace("-", " ").lower().split())


@dataclass(frozen=True)
class _Index:
    by_key: dict[str, str]  # normalised IANA name, city, country or alias -> IANA name
    names: tuple[str, ...]  # every offered IANA name
    search_keys: tuple[str, ...]  # what autocomplete matches against
    search_targets: tuple[str, ...]  # the IANA name for each search key


def _read_tab(name: str) -> list[list[str]]:
    try:
        text = resources.files("tzdata").joinpath("zoneinfo", name).read_text("utf-8")
    except (ModuleNotFoundError, FileNotFoundError, OSError):
        return []
    return [line.split("\t") for line in text.splitlines() if line and not line.startswith("#")]


@cache
def _index() -> _Index:
    available = zoneinfo.available_timezones() - _NOT_ZONES
    canonical = [row[2] for row in _read_tab("zone.tab") if len(row) >= 3 and row[2] in available]
    canonical_set = set(canonical)

    def rank(name: str) -> tuple[int, str]:
        # Prefer current location zones over links and legacy names ("US/Eastern", "EST").
        if name in canonical_set:
            return (0, name)
        if name.split("/", 1)[0] in _REGIONS:
            return (1, name)
        return (2, name)

    names = tuple(sorted(available, key=rank))
    current = [name for name in names if rank(name)[0] < 2]
    legacy = [name for name in names if rank(name)[0] == 2]
    by_key: dict[str, str] = {}
    for name in current:
        by_key.setdefault(_normalise(name), name)
    for name in current:
        if "/" in name:
            by_key.setdefault(_normalise(name.rsplit("/", 1)[1]), name)
    # A country with a single zone: "japan", "france".
    countries = {row[0]: row[1] for row in _read_tab("iso3166.tab") if len(row) >= 2}
    zones_by_country: dict[str, list[str]] = {}
    for row in _read_tab("zone.tab"):
        if len(row) >= 3:
            zones_by_country.setdefault(row[0], []).append(row[2])
    for code, zones in zones_by_country.items():
        if len(zones) == 1 and code in countries and zones[0] in available:
            by_key.setdefault(_normalise(countries[code]), zones[0])
    for alias, name in ALIASES.items():
        by_key[alias] = name
    # Autocomplete offers current zones only; legacy names ("US/Eastern", "Japan") still
    # resolve when typed in full.
    search_keys = tuple(by_key)
    search_targets = tuple(by_key[key] for key in search_keys)
    for name in legacy:
        by_key.setdefault(_normalise(name), name)
    return _Index(by_key, names, search_keys, search_targets)


def _clean(text: str) -> str | None:
    text = (text or "").strip()
    if not text or len(text) > _MAX_INPUT or not _ALLOWED.match(text):
        return None
    return text


def resolve_zone(text: str) -> ZoneInfo:
    """The zone a member means by ``text``, or :class:`UserFacingError` saying what works."""
    cleaned = _clean(text)
    if cleaned is not None:
        name = _index().by_key.get(_normalise(cleaned))
        if name is not None:
            return zone_named(name)
    if _OFFSET.match((text or "").strip()[:_MAX_INPUT]):
        # Etc/GMT-2 is UTC+2 (POSIX signs): offering it would read as the wrong way round,
        # and a fixed offset would move the member's reminders an hour at every DST change.
        raise UserFacingError(
            "A UTC offset doesn't follow daylight saving, so your reminders would move by an "
            "hour twice a year. Type your city instead, like `berlin` or `new york`: the "
            "autocomplete finds it."
        )
    hint = ""
    if cleaned is not None:
        suggestions = suggest_zones(cleaned, limit=3, fuzzy_cutoff=_DID_YOU_MEAN_SCORE)
        if suggestions:
            hint = " Did you mean " + ", ".join(suggestions) + "?"
    raise UserFacingError(
        "I don't know that time zone. Use a city or an IANA name, for example "
        "`Europe/Berlin`, `America/New_York` or `Asia/Kolkata` — the autocomplete lists them."
        + hint
    )


def suggest_zones(text: str, limit: int = 25, fuzzy_cutoff: int = 60) -> list[str]:
    """IANA names for autocomplete, best first: exact and prefix matches, then fuzzy ones
    scoring at least ``fuzzy_cutoff``."""
    limit = max(1, min(limit, 25))
    if not (text or "").strip():
        return list(POPULAR[:limit])
    cleaned = _clean(text)
    if cleaned is None:
        return []
    index = _index()
    query = _normalise(cleaned)
    result: list[str] = []

    def add(name: str) -> None:
        if name not in result:
            result.append(name)

    exact = index.by_key.get(query)
    if exact:
        add(exact)
    prefixed = sorted(
        (
            (len(key), target)
            for key, target in zip(index.search_keys, index.search_targets, strict=True)
            if key.startswith(query) or _normalise(target.rsplit("/", 1)[-1]).startswith(query)
        ),
    )
    for _, target in prefixed:
        add(target)
        if len(result) >= limit:
            return result
    # Fuzzy matches are for typos ("berln"). Once the name itself matched, a loose one is
    # noise ("berlin" also offered Porto-Novo for "benin"): only near misses may follow.
    cutoff = max(85, fuzzy_cutoff) if result else fuzzy_cutoff
    matches = process.extract(
        query, index.search_keys, scorer=fuzz.WRatio, limit=limit * 3, score_cutoff=cutoff
    )
    for _key, _score, position in matches:
        add(index.search_targets[position])
        if len(result) >= limit:
            break
    return result


def is_valid_zone_name(name: str) -> bool:
    return name in _index().names or name == "UTC"
