"""The ``[S14]`` / ``[S1, S14]`` citation pattern of the content texts, in one place.

The loader checks that every id cited inline is listed in the entry's sources; the renderers
list the cited sources under each answer.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

CITATION = re.compile(r"\[([A-Z][A-Za-z0-9]*(?:,\s*[A-Z][A-Za-z0-9]*)*)\]")


def citations_in(text: str | None) -> list[str]:
    """The source ids cited inline in ``text``, in order (repeats kept)."""
    return [
        ref.strip() for match in CITATION.finditer(text or "") for ref in match.group(1).split(",")
    ]


def cited_ids(*texts: str | None, listed: Iterable[str] = ()) -> list[str]:
    """Source ids cited inline in ``texts`` plus ``listed``, once each, in first-seen order."""
    ids = [ref for text in texts for ref in citations_in(text)]
    return list(dict.fromkeys([*ids, *listed]))
