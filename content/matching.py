"""Forgiving look-up of nutrients and foods by what people actually type.

"mg", "Vit D", "b-12", "potas" and "sweet potato" must all land on the right entry. Exact
matches on a normalised form (case, width, spacing, hyphens, "vit" for "vitamin") win;
otherwise rapidfuzz scores every name and alias and the best clear winner is taken.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from rapidfuzz import fuzz

# find(): below this a guess is more likely wrong than helpful.
FIND_CUTOFF = 80.0
# find(): a winner must beat the runner-up by this much, or the query is ambiguous.
FIND_MARGIN = 5.0
# suggest(): looser, since the user picks from the list.
SUGGEST_CUTOFF = 65.0

# Abbreviations this short ("d", "ca", "mg") fit inside unrelated words ("sodium",
# "caffeine") that fuzzy scoring would then match, so they count only when typed whole.
_SHORT_KEY = 2

_NON_WORD = re.compile(r"[\W_]+", re.UNICODE)
_WORD_ABBREVIATIONS = {"vit": "vitamin", "vits": "vitamins", "vitamine": "vitamin"}


@dataclass(frozen=True)
class Candidate:
    id: str
    name: str
    aliases: tuple[str, ...] = ()

    def keys(self) -> tuple[str, ...]:
        """Every spelling that names this candidate, normalised."""
        spellings = (self.name, self.id, *self.aliases)
        return tuple(dict.fromkeys(k for k in (normalise(s) for s in spellings) if k))


@dataclass(frozen=True)
class Match:
    candidate: Candidate
    score: float
    exact: bool


def normalise(text: str) -> str:
    """Lower-case words separated by single spaces; "Vit. D-3" -> "vitamin d 3"."""
    text = unicodedata.normalize("NFKC", text).casefold()
    words = _NON_WORD.sub(" ", text).split()
    # "b12" and "b 12" should be the same key: split letters from digits.
    split: list[str] = []
    for word in words:
        split.extend(re.findall(r"\d+(?:\.\d+)?|\D+", word))
    return " ".join(_WORD_ABBREVIATIONS.get(w, w) for w in split)


def _compact(key: str) -> str:
    return key.replace(" ", "")


def _score(query: str, key: str) -> float:
    if _compact(query) == _compact(key):
        return 100.0
    if len(_compact(key)) <= _SHORT_KEY:
        return 0.0
    score = fuzz.WRatio(query, key)
    # A prefix of a word ("potas", "sweet pot") is what people type while searching.
    if len(query) >= 2 and key.startswith(query):
        score = max(score, 95.0)
    elif any(w.startswith(query) for w in key.split()):
        score = max(score, 90.0 if len(query) >= 3 else 75.0)
    return score


def _ranked(query: str, candidates: Iterable[Candidate]) -> list[Match]:
    matches: list[Match] = []
    for candidate in candidates:
        best = 0.0
        exact = False
        for key in candidate.keys():
            if _compact(key) == _compact(query):
                best, exact = 100.0, True
                break
            best = max(best, _score(query, key))
        matches.append(Match(candidate, best, exact))
    matches.sort(key=lambda m: (not m.exact, -m.score, m.candidate.name.casefold()))
    return matches


def find(query: str, candidates: Sequence[Candidate]) -> Match | None:
    """The one candidate the query clearly means, or ``None`` (unknown or ambiguous)."""
    key = normalise(query)
    if not key:
        return None
    ranked = _ranked(key, candidates)
    if not ranked:
        return None
    best = ranked[0]
    if best.exact:
        return best
    if best.score < FIND_CUTOFF:
        return None
    if len(ranked) > 1 and ranked[1].score > best.score - FIND_MARGIN:
        return None
    return best


def suggest(query: str, candidates: Sequence[Candidate], limit: int = 25) -> list[Candidate]:
    """The best matches first; an empty query lists the candidates by name."""
    if limit <= 0:
        return []
    key = normalise(query)
    if not key:
        if query.strip():
            return []  # only symbols or emoji: nothing sensible to rank by
        return sorted(candidates, key=lambda c: c.name.casefold())[:limit]
    ranked = _ranked(key, candidates)
    return [m.candidate for m in ranked if m.exact or m.score >= SUGGEST_CUTOFF][:limit]
