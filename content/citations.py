"""The citation pattern of the content texts, in one place: ``[S14]``, ``[S1, S14]``, and
``[S17:leg-cramps]`` for one page of a source.

A citation names a source id from ``sources.yaml`` and, where the reference lists several
pages under that id (Mayo Clinic's pages on low potassium, caffeine and night leg cramps are
all "S17"), the page that backs the sentence. The loader checks that every id cited inline
is listed in the entry's sources and names an existing page; fact answers show the bare id
(``[S17]``) and resolve it to that page in their Sources; a tip shown on its own (reminders,
the daily tip, /tips) shows the publisher's name linked to the page instead.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

# One citation key: a source id, optionally ":page".
KEY = r"[A-Z][A-Za-z0-9]{0,15}(?::[a-z0-9][a-z0-9-]{0,31})?"
KEY_PATTERN = rf"^{KEY}$"
CITATION = re.compile(rf"\[({KEY}(?:,\s*{KEY})*)\]")


def citations_in(text: str | None) -> list[str]:
    """The citation keys cited inline in ``text``, in order (repeats kept)."""
    return [
        ref.strip() for match in CITATION.finditer(text or "") for ref in match.group(1).split(",")
    ]


def cited_ids(*texts: str | None, listed: Iterable[str] = ()) -> list[str]:
    """Citation keys cited inline in ``texts`` plus ``listed``, once each, in first-seen order."""
    ids = [ref for text in texts for ref in citations_in(text)]
    return list(dict.fromkeys([*ids, *listed]))


def source_id(key: str) -> str:
    """``S17:leg-cramps`` -> ``S17``."""
    return key.split(":", 1)[0]


def with_bare_ids(text: str) -> str:
    """``[S17:leg-cramps, S28:ific]`` -> ``[S17, S28]``: fact answers show the page in their
    Sources, so the text keeps the short tag a reader can look up."""

    def bare(match: re.Match[str]) -> str:
        ids = dict.fromkeys(source_id(k.strip()) for k in match.group(1).split(","))
        return "[" + ", ".join(ids) + "]"

    return CITATION.sub(bare, text)


def without_citations(text: str) -> str:
    """The text with its bracketed citations removed (shown with linked names instead)."""
    text = re.sub(r"\s*" + CITATION.pattern, "", text)
    return re.sub(r"\s+([.,;:])", r"\1", text).strip()


@dataclass(frozen=True)
class Citation:
    """One cited page: what a reader needs to find it."""

    key: str  # as written in the text: "S17:leg-cramps"
    source_id: str  # "S17"
    publisher: str  # "Mayo Clinic"
    title: str  # the page's own title when the source has several pages
    url: str | None


def linked_names(found: Sequence[Citation]) -> str:
    """``Mayo Clinic · NHS``, each name a markdown link to the cited page (once per page)."""
    parts: dict[str, str] = {}
    for citation in found:
        name = citation.publisher.replace("[", "(").replace("]", ")")
        parts.setdefault(
            citation.url or citation.key,
            f"[{name}]({citation.url})" if citation.url else name,
        )
    return " · ".join(parts.values())
