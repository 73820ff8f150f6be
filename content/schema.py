"""The shape of every content file, with Discord's limits on what each text becomes.

Each text field is typed by where it ends up: ``FieldText`` becomes an embed field value
(1024 characters), ``ChoiceText`` an autocomplete choice name (100), and so on. Checks
that span several fields (a whole embed's 6000 characters) are model validators with a
budget that leaves room for the parts the renderer adds (food lists, sources, disclaimer).
Cross-file checks (dangling ids, duplicate aliases) live in ``content/loader.py``.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError

from content import citations, limits
from domain.kinds import MEMBER_KINDS, TipTopicId

TIP_TOPICS: tuple[str, ...] = tuple(TipTopicId)
# The kinds' messages are keyed by their names; the "one practical tip" shown on a reminder
# comes from the kind's tip topic (domain/kinds.py).
REMINDER_KINDS: tuple[str, ...] = tuple(spec.name for spec in MEMBER_KINDS)

# The disclaimer and the doctor pointer share the footer of every health embed.
SHORT_TEXT = 300
# Longest tip: it is shown as "one practical tip" on reminders and daily posts.
TIP_TEXT = 400
REMINDER_TEXT = 200
# A caveat is shown right after the amount it qualifies, in every list that shows it.
CAVEAT_TEXT = 160
# A topic's note rides along with each of its tips read on its own: one short line.
TOPIC_NOTE_TEXT = 160
PAGE_TEXT_BUDGET = 4600
# /nutrient's first screen answers "what is it for, how much, where from" in at most 1,200
# characters (a phone screen); the nutrient's own texts on it get this much, leaving room for
# the footer and the first few foods.
FIRST_SCREEN_TEXT_BUDGET = 750


def _limit(limit: int, where: str) -> AfterValidator:
    def check(value: str) -> str:
        if not value.strip():
            raise PydanticCustomError("empty_text", "must not be empty")
        if len(value) > limit:
            raise PydanticCustomError(
                "discord_limit",
                "{length} characters, Discord allows at most {limit} in {where}",
                {"length": len(value), "limit": limit, "where": where},
            )
        return value

    return AfterValidator(check)


def _own_limit(limit: int, why: str) -> AfterValidator:
    def check(value: str) -> str:
        if not value.strip():
            raise PydanticCustomError("empty_text", "must not be empty")
        if len(value) > limit:
            raise PydanticCustomError(
                "too_long",
                "{length} characters, at most {limit} allowed ({why})",
                {"length": len(value), "limit": limit, "why": why},
            )
        return value

    return AfterValidator(check)


def _http_url(value: str) -> str:
    if not value.startswith(("https://", "http://")):
        raise PydanticCustomError("url", "must start with https:// or http://")
    if any(ch.isspace() for ch in value):
        raise PydanticCustomError("url", "must not contain spaces")
    if len(value) > 500:
        raise PydanticCustomError("url", "longer than 500 characters; use a shorter link")
    return value


Id = Annotated[
    str,
    Field(
        pattern=r"^[a-z0-9][a-z0-9-]{0,63}$",
        description="lowercase letters, digits and hyphens, like sweet-potato",
    ),
]
SourceId = Annotated[str, Field(pattern=r"^[A-Z][A-Za-z0-9]{0,15}$")]
PageId = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]{0,31}$")]
# "S14", or "S17:leg-cramps" for one of the pages the reference lists under S17.
CitationKey = Annotated[str, Field(pattern=citations.KEY_PATTERN)]
TitleText = Annotated[str, _limit(limits.EMBED_TITLE, "an embed title")]
FieldName = Annotated[str, _limit(limits.EMBED_FIELD_NAME, "an embed field name")]
FieldText = Annotated[str, _limit(limits.EMBED_FIELD_VALUE, "an embed field")]
DescriptionText = Annotated[str, _limit(limits.EMBED_DESCRIPTION, "an embed description")]
ChoiceText = Annotated[str, _limit(limits.CHOICE_NAME, "an autocomplete choice")]
ShortText = Annotated[str, _own_limit(SHORT_TEXT, "it shares the footer of every answer")]
TipText = Annotated[str, _own_limit(TIP_TEXT, "tips are shown on their own on reminders")]
ReminderText = Annotated[str, _own_limit(REMINDER_TEXT, "reminder messages stay short")]
Url = Annotated[str, AfterValidator(_http_url)]
SourceIds = Annotated[list[CitationKey], Field(min_length=1)]
CaveatText = Annotated[str, _own_limit(CAVEAT_TEXT, "it is shown next to the amount")]


# --- rules about what a text says, not only how long it is ---------------------------------

# Liver and fish-liver oils are the richest sources of preformed vitamin A, which has an upper
# limit one serving can pass; the NHS tells pregnant women to avoid them. A food named so
# cannot ship without a caution that says both (the reference, "Liver and fish-liver oils").
_LIVER = re.compile(r"\bliver\b", re.IGNORECASE)
# Red flags say what to do, never what a symptom means: Steady can't diagnose.
_INTERPRETATION = re.compile(
    r"\b(?:can|could|may|might|usually|often|will)\s+(?:mean|indicate|signal|suggest)|"
    r"\bthese\s+(?:can|could|may|might)\b|\bmeans?\s+you\s+have\b|\ba\s+sign\s+of\b",
    re.IGNORECASE,
)
# Members can be 13: wherever a text gives the 14–18 figures, it gives the 9–13 ones too.
TEENS, CHILDREN = "14–18", "9–13"
# Medicine spacing ("2 h apart", "4 h before") is only general guidance.
_SPACING = re.compile(r"\d\s*h\s+(?:apart|before|after)\b")


def _children_too(text: str | None, field: str) -> None:
    if text and TEENS in text and CHILDREN not in text:
        raise PydanticCustomError(
            "children",
            "{field} gives figures for {teens} but not for {children}: members can be 13, so "
            "give theirs too",
            {"field": field, "teens": TEENS, "children": CHILDREN},
        )


def _no_interpretation(value: str) -> str:
    found = _INTERPRETATION.search(value)
    if found:
        raise PydanticCustomError(
            "diagnosis",
            '"{words}" interprets the symptoms; say what to do, not what it means',
            {"words": found.group(0)},
        )
    return value


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


def _over_budget(total: int, budget: int, answer: str) -> PydanticCustomError:
    return PydanticCustomError(
        "embed_total",
        "the texts add up to {total} characters; with the parts added around them the {answer} "
        "answer would pass Discord's {limit}-character embed limit (keep them under {budget})",
        {"total": total, "answer": answer, "limit": limits.EMBED_TOTAL, "budget": budget},
    )


# --- sources.yaml -------------------------------------------------------------------------


CitationTitle = Annotated[str, _own_limit(200, "keeps each citation on one line")]


class SourcePage(Strict):
    """One of several pages the reference lists under one source id."""

    id: PageId
    # When the pages under one id come from different publishers (S28, S30c).
    publisher: ChoiceText | None = None
    title: CitationTitle
    url: Url


class Source(Strict):
    """A source id of the reference. When the reference lists several pages under the id,
    ``pages`` holds them and every citation names one (``S17:leg-cramps``), so each link
    goes to the page that backs the sentence."""

    id: SourceId
    publisher: ChoiceText
    title: CitationTitle
    url: Url | None = None
    pages: list[SourcePage] = []

    @model_validator(mode="after")
    def _url_or_pages(self) -> Source:
        if self.url and self.pages:
            raise PydanticCustomError(
                "pages", "give either url or pages, not both (with pages, cite S17:page-id)"
            )
        return self


class SourcesFile(Strict):
    sources: Annotated[list[Source], Field(min_length=1)]


# --- nutrients.yaml -----------------------------------------------------------------------


class Nutrient(Strict):
    id: Id
    name: ChoiceText
    aliases: list[ChoiceText] = []
    unit: Annotated[str, _own_limit(20, "a unit like mg or mcg DFE")]
    daily_value: ChoiceText
    # Shown next to the Daily Value wherever it appears (the potassium DV is an old intake).
    daily_value_note: ShortText | None = None
    role: FieldText
    # "How much do I need", in one line for the first screen; ``intake`` has every life stage.
    intake_summary: ShortText
    # The adult upper limit in one line, for the first screen; ``upper_limit`` has the rest.
    upper_limit_summary: ShortText | None = None
    # Who must ask a doctor before eating more of it; shown on every answer that shows
    # amounts of this nutrient (/nutrient, /foods, and /food for foods that supply it).
    caution: ShortText | None = None
    deficiency_signs: FieldText
    intake: FieldText
    upper_limit: FieldText
    at_risk: FieldText
    notes: FieldText | None = None
    best_foods: Annotated[list[Id], Field(min_length=1, max_length=15)]
    food_caveats: FieldText | None = None
    sources: SourceIds

    @model_validator(mode="after")
    def _says_what_the_sources_say(self) -> Nutrient:
        _children_too(self.intake, "intake")
        _children_too(self.upper_limit, "upper_limit")
        if self.notes and _SPACING.search(self.notes) and "pharmacist" not in self.notes:
            raise PydanticCustomError(
                "pharmacist",
                "notes space medicines apart without saying to ask a pharmacist first",
            )
        # A qualified unit ("mcg DFE") never stands bare in an intake: "600 mcg;" reads as
        # plain micrograms. Other forms say what they are ("400 mcg of folic acid").
        base, _, qualifier = self.unit.partition(" ")
        if qualifier:
            bare = re.compile(rf"\d\s*{re.escape(base)}(?=\s*(?:[;,.)\[]|$|a day\b))", re.MULTILINE)
            for field in ("intake_summary", "intake"):
                if bare.search(getattr(self, field)):
                    raise PydanticCustomError(
                        "unit",
                        "{field} gives an amount in {base} without {qualifier}",
                        {"field": field, "base": base, "qualifier": qualifier},
                    )
        return self

    @model_validator(mode="after")
    def _fits_the_first_screen(self) -> Nutrient:
        texts = [self.name, self.role, self.intake_summary, self.upper_limit_summary or ""]
        texts += [self.caution or ""]
        texts += [self.daily_value, self.daily_value_note or ""]
        total = sum(len(t) for t in texts)
        if total > FIRST_SCREEN_TEXT_BUDGET:
            raise PydanticCustomError(
                "first_screen",
                "the first-screen texts (name, role, intake_summary, upper_limit_summary, "
                "caution, daily value) add "
                "up to {total} characters; keep them under {budget} so the answer's first "
                "screen fits a phone",
                {"total": total, "budget": FIRST_SCREEN_TEXT_BUDGET},
            )
        return self


class Group(Strict):
    """A name that covers several entries ("B vitamins", "fish"); asking for it lists the
    members."""

    id: Id
    name: ChoiceText
    aliases: list[ChoiceText] = []
    members: Annotated[list[Id], Field(min_length=2)]


NutrientGroup = Group


class NutrientsFile(Strict):
    nutrients: Annotated[list[Nutrient], Field(min_length=1, max_length=24)]
    groups: list[Group] = []


# --- foods.yaml ---------------------------------------------------------------------------


class Amount(Strict):
    nutrient: Id
    amount: float = Field(ge=0)
    iu: int | None = Field(default=None, ge=0)
    dv_percent: int | None = Field(default=None, ge=0)
    # Shown right after this amount wherever it appears ("older data; newer are much lower").
    caveat: CaveatText | None = None


class Food(Strict):
    id: Id
    name: ChoiceText
    aliases: list[ChoiceText] = []
    serving: ChoiceText
    amounts: Annotated[list[Amount], Field(min_length=1, max_length=20)]
    # Which form the figures are for, when a broader name ("apricot", "milk") lands here.
    form_note: ShortText | None = None
    note: ShortText | None = None
    # A warning about eating the food itself (vitamin A in liver), shown with the food
    # wherever it is named: every /foods and /nutrient list, every /compare row, /food. Short,
    # since it rides on a line of a list; /food shows ``caution_detail`` (the figures) too.
    caution: CaveatText | None = None
    caution_detail: FieldText | None = None
    sources: SourceIds

    @model_validator(mode="after")
    def _says_what_a_reader_must_know(self) -> Food:
        names = " ".join([self.id, self.name, *self.aliases])
        if self.caution_detail and not self.caution:
            raise PydanticCustomError(
                "caution", "caution_detail needs the short caution every list shows"
            )
        if _LIVER.search(names):
            caution = (self.caution or "").casefold()
            if "vitamin a" not in caution or "pregnan" not in caution:
                raise PydanticCustomError(
                    "liver",
                    "liver and fish-liver oils are the richest sources of preformed vitamin A: "
                    "give a caution that names vitamin A and its upper limit, and the advice "
                    "for pregnancy",
                )
        if re.search(r"\b(?:fortified|added)\b", self.name, re.IGNORECASE):
            if "check the label" not in f"{self.form_note or ''} {self.note or ''}":
                raise PydanticCustomError(
                    "label",
                    "a fortified food's figures differ by brand and country: say \"check the "
                    'label" in its form_note or note',
                )
        return self


class FoodsFile(Strict):
    foods: Annotated[list[Food], Field(min_length=1)]
    # Everyday words for several foods ("fish", "dairy", the article's "leafy greens").
    groups: list[Group] = []


# --- compare.yaml -------------------------------------------------------------------------


class CompareRow(Strict):
    nutrient: FieldName
    refers_to: Annotated[list[Id], Field(min_length=1)]
    role: ShortText
    deficiency_symptom: ShortText
    best_sources: ShortText

    @model_validator(mode="after")
    def _fits_one_field(self) -> CompareRow:
        # The renderer puts the three texts and their labels into one field value.
        total = len(self.role) + len(self.deficiency_symptom) + len(self.best_sources) + 80
        if total > limits.EMBED_FIELD_VALUE:
            raise PydanticCustomError(
                "discord_limit",
                "the row renders to about {length} characters, Discord allows at most {limit} "
                "in an embed field",
                {"length": total, "limit": limits.EMBED_FIELD_VALUE},
            )
        return self


class Compare(Strict):
    title: TitleText
    intro: DescriptionText
    rows: Annotated[list[CompareRow], Field(min_length=1, max_length=20)]
    sources: SourceIds

    @model_validator(mode="after")
    def _fits_one_embed(self) -> Compare:
        total = len(self.title) + len(self.intro)
        total += sum(
            len(r.nutrient) + len(r.role) + len(r.deficiency_symptom) + 80 for r in self.rows
        )
        total += sum(len(r.best_sources) for r in self.rows)
        if total > PAGE_TEXT_BUDGET:
            raise _over_budget(total, PAGE_TEXT_BUDGET, "/compare")
        return self


class CompareFile(Strict):
    compare: Compare


# --- causes.yaml --------------------------------------------------------------------------


class CauseSection(Strict):
    id: Id
    title: FieldName
    text: FieldText
    sources: SourceIds


class Causes(Strict):
    title: TitleText
    intro: DescriptionText
    sections: Annotated[list[CauseSection], Field(min_length=1, max_length=20)]

    @model_validator(mode="after")
    def _fits_one_embed(self) -> Causes:
        total = len(self.title) + len(self.intro)
        total += sum(len(s.title) + len(s.text) for s in self.sections)
        if total > PAGE_TEXT_BUDGET:
            raise _over_budget(total, PAGE_TEXT_BUDGET, "/causes")
        return self


class CausesFile(Strict):
    causes: Causes


# --- red_flags.yaml -----------------------------------------------------------------------


class RedFlag(Strict):
    id: Id
    text: Annotated[ShortText, AfterValidator(_no_interpretation)]
    sources: SourceIds


def _flags_fit(flags: list[RedFlag]) -> list[RedFlag]:
    # Rendered as "• text [S30]" lines in one field.
    total = sum(len(f.text) + 4 + sum(len(s) + 3 for s in f.sources) for f in flags)
    if total > limits.EMBED_FIELD_VALUE:
        raise PydanticCustomError(
            "discord_limit",
            "the list renders to about {length} characters, Discord allows at most {limit} "
            "in an embed field",
            {"length": total, "limit": limits.EMBED_FIELD_VALUE},
        )
    return flags


FlagList = Annotated[list[RedFlag], Field(min_length=1), AfterValidator(_flags_fit)]


class RedFlags(Strict):
    title: TitleText
    intro: DescriptionText
    see_a_professional: FlagList
    get_help_now: FlagList
    what_happens_next: FieldText
    next_steps_sources: SourceIds

    @model_validator(mode="after")
    def _fits_one_embed(self) -> RedFlags:
        total = len(self.title) + len(self.intro) + len(self.what_happens_next)
        total += sum(len(f.text) + 10 for f in self.see_a_professional + self.get_help_now)
        if total > PAGE_TEXT_BUDGET:
            raise _over_budget(total, PAGE_TEXT_BUDGET, "/see-a-doctor")
        return self


class RedFlagsFile(Strict):
    red_flags: RedFlags


# --- tips.yaml ----------------------------------------------------------------------------


class Tip(Strict):
    id: Id
    text: TipText
    sources: SourceIds

    @model_validator(mode="after")
    def _children_too(self) -> Tip:
        _children_too(self.text, "the tip")
        return self


class TopicNote(Strict):
    """One short line that goes with every tip of its topic read on its own (a reminder, the
    daily tip): the teen caffeine advice, since Steady doesn't know a member's age."""

    text: Annotated[str, _own_limit(TOPIC_NOTE_TEXT, "it goes with every tip of its topic")]
    sources: SourceIds


class TipTopic(Strict):
    id: TipTopicId
    name: ChoiceText
    summary: FieldText
    tips: Annotated[list[Tip], Field(min_length=1, max_length=10)]
    note: TopicNote | None = None

    @model_validator(mode="after")
    def _fits_one_embed(self) -> TipTopic:
        _children_too(self.summary, "summary")
        total = len(self.name) + len(self.summary) + sum(len(t.text) + 12 for t in self.tips)
        total += len(self.note.text) + 12 if self.note else 0
        if total > PAGE_TEXT_BUDGET:
            raise _over_budget(total, PAGE_TEXT_BUDGET, "/tips")
        return self


def _every_topic_once(topics: list[TipTopic]) -> list[TipTopic]:
    ids = [t.id for t in topics]
    missing = [t for t in TIP_TOPICS if t not in ids]
    if missing or len(ids) != len(set(ids)):
        raise PydanticCustomError(
            "topics",
            "needs each of {expected} exactly once (missing: {missing})",
            {"expected": ", ".join(TIP_TOPICS), "missing": ", ".join(missing) or "none"},
        )
    return topics


class TipsFile(Strict):
    topics: Annotated[list[TipTopic], AfterValidator(_every_topic_once)]


# --- reminders.yaml -----------------------------------------------------------------------

ReminderList = Annotated[list[ReminderText], Field(min_length=6)]


def _every_kind_once(messages: dict[str, list[str]]) -> dict[str, list[str]]:
    missing = [kind for kind in REMINDER_KINDS if kind not in messages]
    unknown = [kind for kind in messages if kind not in REMINDER_KINDS]
    if missing or unknown:
        raise PydanticCustomError(
            "kinds",
            "needs messages for each of {expected} (missing: {missing}; unknown: {unknown})",
            {
                "expected": ", ".join(REMINDER_KINDS),
                "missing": ", ".join(missing) or "none",
                "unknown": ", ".join(unknown) or "none",
            },
        )
    return messages


# Reminder kind -> its rotating messages.
ReminderMessages = Annotated[dict[str, ReminderList], AfterValidator(_every_kind_once)]


class RemindersFile(Strict):
    reminder_messages: ReminderMessages


# --- about.yaml ---------------------------------------------------------------------------


class About(Strict):
    disclaimer: ShortText
    see_doctor_pointer: ShortText
    what_it_is: FieldText
    data_kept: FieldText


class AboutFile(Strict):
    about: About


# File name -> the model of its top level, in the order they are loaded.
FILES: dict[str, type[Strict]] = {
    "sources.yaml": SourcesFile,
    "about.yaml": AboutFile,
    "nutrients.yaml": NutrientsFile,
    "foods.yaml": FoodsFile,
    "compare.yaml": CompareFile,
    "causes.yaml": CausesFile,
    "red_flags.yaml": RedFlagsFile,
    "tips.yaml": TipsFile,
    "reminders.yaml": RemindersFile,
}
