"""The validated content the bot answers from, with the look-ups the features need."""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, PrivateAttr

from content import citations
from content.citations import Citation
from content.matching import Candidate, normalise
from content.schema import (
    About,
    Amount,
    Causes,
    Compare,
    CompareRow,
    Food,
    Nutrient,
    NutrientGroup,
    RedFlags,
    Source,
    Tip,
    TipTopic,
)
from domain.kinds import spec_of


class Content(BaseModel):
    model_config = ConfigDict(frozen=True)

    sources: tuple[Source, ...]
    about: About
    nutrients: tuple[Nutrient, ...]
    nutrient_groups: tuple[NutrientGroup, ...]
    foods: tuple[Food, ...]
    compare: Compare
    causes: Causes
    red_flags: RedFlags
    tip_topics: tuple[TipTopic, ...]
    reminders: dict[str, tuple[str, ...]]
    food_groups: tuple[NutrientGroup, ...] = ()

    _sources: dict[str, Source] = PrivateAttr(default_factory=dict)
    _nutrients: dict[str, Nutrient] = PrivateAttr(default_factory=dict)
    _groups: dict[str, NutrientGroup] = PrivateAttr(default_factory=dict)
    _foods: dict[str, Food] = PrivateAttr(default_factory=dict)
    _food_groups: dict[str, NutrientGroup] = PrivateAttr(default_factory=dict)
    _topics: dict[str, TipTopic] = PrivateAttr(default_factory=dict)

    def model_post_init(self, _context: object) -> None:
        self._sources = {s.id: s for s in self.sources}
        self._nutrients = {n.id: n for n in self.nutrients}
        self._groups = {g.id: g for g in self.nutrient_groups}
        self._foods = {f.id: f for f in self.foods}
        self._food_groups = {g.id: g for g in self.food_groups}
        self._topics = {t.id: t for t in self.tip_topics}

    # --- texts every answer needs ---------------------------------------------------------

    @property
    def disclaimer(self) -> str:
        return self.about.disclaimer

    @property
    def see_doctor_pointer(self) -> str:
        return self.about.see_doctor_pointer

    @property
    def health_footer(self) -> str:
        """What every health text ends with, answers, reminders and daily tips alike: the
        disclaimer and the "see a doctor if…" pointer."""
        return f"{self.disclaimer} {self.see_doctor_pointer}"

    def readable(self, text: str) -> str:
        """A tip as it is read on its own (reminders, the daily tip, /tips): the text without
        its ``[S17]`` tags, then its sources as names linked to the cited pages."""
        names = citations.linked_names(self.citations_of(text))
        plain = citations.without_citations(text)
        return f"{plain} *({names})*" if names else plain

    # --- look-ups by id (ids come from autocomplete or from a successful match) -----------

    def source(self, source_id: str) -> Source:
        return self._sources[source_id]

    def citation(self, key: str) -> Citation:
        """The page a citation key points at (``S17:leg-cramps`` -> Mayo's night-cramps page)."""
        source = self._sources[citations.source_id(key)]
        page_id = key.partition(":")[2]
        page = next((p for p in source.pages if p.id == page_id), None)
        if page is not None:
            publisher = page.publisher or source.publisher
            return Citation(key, source.id, publisher, page.title, page.url)
        return Citation(key, source.id, source.publisher, source.title, source.url)

    def citations_of(self, *texts: str | None, listed: tuple[str, ...] = ()) -> list[Citation]:
        """The pages cited in ``texts`` (and ``listed``), once each, in first-seen order."""
        return [self.citation(key) for key in citations.cited_ids(*texts, listed=listed)]

    def nutrient(self, nutrient_id: str) -> Nutrient:
        return self._nutrients[nutrient_id]

    def nutrient_group(self, group_id: str) -> NutrientGroup | None:
        return self._groups.get(group_id)

    def food(self, food_id: str) -> Food:
        return self._foods[food_id]

    def food_group(self, group_id: str) -> NutrientGroup | None:
        return self._food_groups.get(group_id)

    def tip_topic(self, topic_id: str) -> TipTopic:
        return self._topics[topic_id]

    def topic_of_tip(self, tip_id: str) -> TipTopic:
        """The topic a tip belongs to (its heading when the tip is shown on its own)."""
        return next(t for t in self.tip_topics if any(tip.id == tip_id for tip in t.tips))

    def cautions_for(self, food: Food) -> list[tuple[Nutrient, str]]:
        """The cautions of the nutrients this food supplies (potassium and the kidneys)."""
        supplied = {a.nutrient for a in food.amounts}
        return [(n, n.caution) for n in self.nutrients if n.caution and n.id in supplied]

    def foods_named_in(self, text: str) -> list[Food]:
        """The foods a list like "Bananas, sweet potatoes and spinach" names, each by its
        own name or an alias (a group word such as "fish" names no one food)."""
        terms = {normalise(t) for t in re.split(r",|;|\band\b|\bor\b", text)}
        return [f for f in self.foods if terms & {normalise(k) for k in (f.name, *f.aliases)}]

    def compare_row_cautions(self, row: CompareRow) -> list[str]:
        """What a /compare row must carry: the caution of each nutrient it covers (potassium
        and the kidneys) and of each food its best sources name (vitamin A in liver)."""
        nutrient_ids: list[str] = []
        for ref in row.refers_to:
            group = self._groups.get(ref)
            nutrient_ids += group.members if group else [ref]
        found = [self._nutrients[i].caution for i in nutrient_ids if i in self._nutrients]
        found += [food.caution for food in self.foods_named_in(row.best_sources)]
        return list(dict.fromkeys(c for c in found if c))

    def foods_for(self, nutrient_id: str) -> list[tuple[Food, Amount]]:
        """Foods that supply the nutrient, richest serving first."""
        rows = [
            (food, amount)
            for food in self.foods
            for amount in food.amounts
            if amount.nutrient == nutrient_id
        ]
        rows.sort(key=lambda row: (-row[1].amount, -(row[1].iu or 0), row[0].name.casefold()))
        return rows

    # --- candidates for matching and autocomplete ------------------------------------------

    def nutrient_candidates(self) -> tuple[Candidate, ...]:
        """Nutrients and groups ("B vitamins"); a group's id is never a nutrient's id."""
        entries: list[Nutrient | NutrientGroup] = [*self.nutrients, *self.nutrient_groups]
        return tuple(Candidate(e.id, e.name, tuple(e.aliases)) for e in entries)

    def food_candidates(self) -> tuple[Candidate, ...]:
        """Foods and groups ("fish"); a group's id is never a food's id."""
        entries: list[Food | NutrientGroup] = [*self.foods, *self.food_groups]
        return tuple(Candidate(e.id, e.name, tuple(e.aliases)) for e in entries)

    # --- what reminders and the daily tip use ----------------------------------------------

    @staticmethod
    def tip_as_read(topic: TipTopic, tip: Tip) -> Tip:
        """A tip as it is read on its own (a reminder, the daily tip): with its topic's note,
        on a line of its own (the caffeine advice for teens goes with every caffeine tip)."""
        if topic.note is None:
            return tip
        return tip.model_copy(
            update={
                "text": f"{tip.text}\n{topic.note.text}",
                "sources": list(dict.fromkeys([*tip.sources, *topic.note.sources])),
            }
        )

    def all_tips(self) -> list[tuple[str, str]]:
        """Every tip as ``(tip_id, text)``, as read on its own, in file order, so a rotation
        is stable."""
        return [
            (tip.id, self.tip_as_read(topic, tip).text)
            for topic in self.tip_topics
            for tip in topic.tips
        ]

    def daily_tip_rotation(self) -> list[tuple[str, str]]:
        """Every tip once, one topic after another (hydration, stress, sleep, …, then each
        topic's second tip): a server's daily tip changes topic every day instead of
        spending its first week on hydration. Stable, like :meth:`all_tips`."""
        rounds = max(len(topic.tips) for topic in self.tip_topics)
        return [
            (topic.tips[i].id, self.tip_as_read(topic, topic.tips[i]).text)
            for i in range(rounds)
            for topic in self.tip_topics
            if i < len(topic.tips)
        ]

    def reminder_messages(self, kind: str) -> list[str]:
        """The rotating messages for a member's reminder kind (``KeyError`` for another)."""
        return list(self.reminders[spec_of(kind).name])

    def tips_for_kind(self, kind: str) -> list[Tip]:
        """Practical tips to show with a reminder of this kind (caffeine -> stimulants), each
        as read on its own (with its topic's note)."""
        topic = self._topics[spec_of(kind).tip_topic]
        return [self.tip_as_read(topic, tip) for tip in topic.tips]
