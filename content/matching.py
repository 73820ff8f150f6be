"""Forgiving look-up of nutrients and foods by what people actually type.

"mg", "Vit D", "b-12", "potas" and "sweet potato" must all land on the right entry. Exact
matches on a normalised form (case, width, spacing, hyphens, "vit" for "vitamin") win;
otherwise rapidfuzz scores every name and alias the query can mean and the best clear
winner is taken. Fuzzy scores alone would match on a shared digit ("omega 3" and "vitamin
d 3"), so numbers and one- or two-letter words count only whole (``_related``).
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
# A word this short, or a number, names something precise ("d", "k", "3", "12"): "omega 3"
# is not vitamin D 3, "b 1" is not B12. Such a word counts only whole, never as a typo.
_SHORT_WORD = 2
# Two longer words are the same word when this similar ("magnesum", "almnds", "potatoes").
WORD_CUTOFF = 80.0

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


def _precise(word: str) -> bool:
    return not word.isalpha() or len(word) <= _SHORT_WORD


def _same_word(typed: str, word: str, typing: bool = False) -> bool:
    """Whether a typed word names this word of a key; ``typing``: it may be unfinished."""
    if typed == word or (typing and word.startswith(typed)):
        return True
    if _precise(typed) or _precise(word):
        return False
    return word.startswith(typed) or fuzz.ratio(typed, word) >= WORD_CUTOFF


def _related(query: str, key: str, typing: bool) -> bool:
    """Whether the query can mean this key at all, before any fuzzy score counts.

    Fuzzy scores alone let a shared "3" make "omega 3" vitamin D 3. So a small number in the
    query must be in the key (B1, K2, omega 3 are other things; 400 or 1000 is a dose), and
    then the query must contain the whole key ("magnesium glycinate", "b12 deficiency"), or
    be its start while the member is still typing ("b", "vitamin b 1"), or share a real word
    with it and have every one- or two-letter word of it in the key ("pumpkin sed", but not
    "vitamin k").
    """
    typed, words = query.split(), key.split()
    if len(words) == 1 and len(_compact(key)) <= _SHORT_KEY:
        return False  # "d", "k", "mg": only typed whole, which is an exact match
    last = len(typed) - 1

    def in_key(i: int) -> bool:
        return any(_same_word(typed[i], w, typing and i == last) for w in words)

    if any(t.isdigit() and len(t) <= 2 and not in_key(i) for i, t in enumerate(typed)):
        return False
    if all(any(_same_word(t, w) for t in typed) for w in words):
        return True
    if typing and len(typed) <= len(words) and typed[:last] == words[:last]:
        if words[last].startswith(typed[last]):
            return True
    if any(_precise(t) and not in_key(i) for i, t in enumerate(typed)):
        return False
    return any(not _precise(t) and in_key(i) for i, t in enumerate(typed))


def _score(query: str, key: str, typing: bool) -> float:
    if _compact(query) == _compact(key):
        return 100.0
    if not _related(query, key, typing):
        return 0.0
    score = fuzz.WRatio(query, key)
    # A prefix of a word ("potas", "sweet pot") is what people type while searching.
    if len(query) >= 2 and key.startswith(query):
        score = max(score, 95.0)
    elif any(w.startswith(query) for w in key.split()):
        score = max(score, 90.0 if len(query) >= 3 else 75.0)
    return score


def _ranked(query: str, candidates: Iterable[Candidate], typing: bool) -> list[Match]:
    matches: list[Match] = []
    for candidate in candidates:
        best = 0.0
        exact = False
        for key in candidate.keys():
            if _compact(key) == _compact(query):
                best, exact = 100.0, True
                break
            best = max(best, _score(query, key, typing))
        matches.append(Match(candidate, best, exact))
    matches.sort(key=lambda m: (not m.exact, -m.score, m.candidate.name.casefold()))
    return matches


def find(query: str, candidates: Sequence[Candidate]) -> Match | None:
    """The one candidate the query clearly means, or ``None`` (unknown or ambiguous)."""
    key = normalise(query)
    if not key:
        return None
    ranked = _ranked(key, candidates, typing=False)
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


def suggest(
    query: str, candidates: Sequence[Candidate], limit: int = 25, typing: bool = True
) -> list[Candidate]:
    """The best matches first; an empty query lists the candidates by name.

    ``typing``: the member is still typing (autocomplete), so the last word may be unfinished
    ("b 1" on its way to B12). A query they sent is taken as complete.
    """
    if limit <= 0:
        return []
    key = normalise(query)
    if not key:
        if query.strip():
            return []  # only symbols or emoji: nothing sensible to rank by
        return sorted(candidates, key=lambda c: c.name.casefold())[:limit]
    ranked = _ranked(key, candidates, typing)
    return [m.candidate for m in ranked if m.exact or m.score >= SUGGEST_CUTOFF][:limit]
