"""The shipped content loads, holds what the features need, and broken copies fail clearly."""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from content import Content, load_content
from content.citations import cited_ids
from content.loader import SHIPPED_DIR
from content.matching import find
from content.schema import FILES, REMINDER_KINDS, TIP_TOPICS
from domain.errors import StartupError


@pytest.fixture(scope="module")
def content() -> Content:
    return load_content()


def test_every_shipped_file_loads(content: Content) -> None:
    assert {p.name for p in SHIPPED_DIR.glob("*.yaml")} == set(FILES)
    assert load_content(SHIPPED_DIR) == content


def test_the_nutrients_the_product_promises(content: Content) -> None:
    ids = {n.id for n in content.nutrients}
    assert ids == {
        "magnesium",
        "calcium",
        "potassium",
        "vitamin-d",
        "vitamin-b6",
        "vitamin-b12",
        "folate",
    }
    assert content.nutrient_group("b-vitamins") is not None


def test_foods_have_servings_amounts_and_sources(content: Content) -> None:
    assert len(content.foods) >= 20
    for food in content.foods:
        assert food.serving and food.amounts and "S14" in food.sources
    sweet = [f for f in content.foods if "sweet potato" in f.aliases]
    assert len(sweet) == 1 and "sweet potatoes" in sweet[0].aliases


def test_upper_limit_caveats_are_stated(content: Content) -> None:
    assert "supplements and medicines only" in content.nutrient("magnesium").upper_limit
    assert content.nutrient("potassium").upper_limit.startswith("None set")
    assert "only to synthetic folic acid" in content.nutrient("folate").upper_limit


def _health_texts(content: Content) -> list[str]:
    """Every text a member reads as a health claim."""
    texts: list[str] = []
    for n in content.nutrients:
        texts += [n.role, n.intake_summary, n.deficiency_signs, n.intake, n.upper_limit]
        texts += [n.at_risk, n.upper_limit_summary or ""]
        texts += [t for t in (n.notes, n.food_caveats, n.caution, n.daily_value_note) if t]
    for food in content.foods:
        texts += [t for t in (food.note, food.form_note) if t]
        texts += [a.caveat for a in food.amounts if a.caveat]
    texts += [tip.text for topic in content.tip_topics for tip in topic.tips]
    texts += [topic.summary for topic in content.tip_topics]
    texts += [content.causes.intro, *(s.text for s in content.causes.sections)]
    texts += [content.compare.intro, *(r.deficiency_symptom for r in content.compare.rows)]
    texts += [content.red_flags.intro, content.red_flags.what_happens_next]
    return texts


def _sentences(text: str) -> list[str]:
    return re.split(r"(?<=[.;])\s+(?=[A-Z])", text)


def test_every_number_in_health_text_is_cited(content: Content) -> None:
    texts = _health_texts(content)
    # Red flags carry their citation in their own sources list (rendered after the text).
    assert all(f.sources for f in content.red_flags.see_a_professional)
    for text in texts:
        for sentence in re.split(r"(?<=[.;])\s+(?=[A-Z])", text):
            if re.search(r"\d", re.sub(r"\[[^\]]*\]|\bB(6|9|12)\b|\bD3\b|/\w+", "", sentence)):
                assert re.search(r"\[[A-Z]", text), f"uncited number in: {sentence!r}"


def test_reminder_messages_and_tips_for_every_kind(content: Content) -> None:
    for kind in REMINDER_KINDS:
        messages = content.reminder_messages(kind)
        assert len(messages) >= 6 and all(len(m) <= 200 for m in messages)
        assert content.tips_for_kind(kind)
    stimulants = content.tip_topic("stimulants")
    assert [t.id for t in content.tips_for_kind("caffeine")] == [t.id for t in stimulants.tips]
    with pytest.raises(KeyError):
        content.reminder_messages("nap")


def test_all_tips_is_stable_and_unique(content: Content) -> None:
    tips = content.all_tips()
    assert tips == load_content().all_tips()
    assert len({tip_id for tip_id, _ in tips}) == len(tips) >= len(TIP_TOPICS)
    assert all(isinstance(text, str) and text for _, text in tips)


def test_disclaimer_is_short_and_points_to_a_doctor(content: Content) -> None:
    assert "not medical advice" in content.disclaimer
    assert "/see-a-doctor" in content.see_doctor_pointer


# --- the safety and accuracy points a careful reader checks -------------------------------


def test_potassium_warns_people_whose_kidneys_or_medicines_limit_it(content: Content) -> None:
    caution = content.nutrient("potassium").caution or ""
    for words in ("Kidney disease", "ACE inhibitors", "ARBs", "Ask your doctor", "don't apply"):
        assert words in caution, words
    assert "[S21]" in caution and "[S22]" in caution
    # Every food that supplies potassium carries the caution into its own answer.
    for food in content.foods:
        has_potassium = any(a.nutrient == "potassium" for a in food.amounts)
        assert bool(content.cautions_for(food)) == has_potassium, food.id


def test_claims_resting_only_on_the_article_are_attributed(content: Content) -> None:
    for text in _health_texts(content):
        for sentence in _sentences(text):
            cited = cited_ids(sentence)
            if cited == ["A1"]:
                assert "article" in sentence, f"article-only claim stated as fact: {sentence!r}"
    magnesium = content.nutrient("magnesium").role
    assert "article" in magnesium.split("calcium builds")[0]
    assert "spasms" in magnesium and "tremors" in magnesium
    b12 = content.nutrient("vitamin-b12").role
    assert "pins and needles" in b12 and "twitching" in b12.split("[A1]")[0]
    for topic in content.tip_topics:
        assert "most common" not in topic.summary


def test_compare_states_no_article_only_symptom(content: Content) -> None:
    for row in content.compare.rows:
        cited = cited_ids(row.deficiency_symptom)
        assert cited and "A1" not in cited, row.nutrient
        if "twitch" in row.deficiency_symptom.lower():
            assert cited == ["S18"], "only low potassium is sourced as causing twitching"


def test_red_flags_are_worded_by_what_a_person_notices(content: Content) -> None:
    flags = content.red_flags
    texts = [f.text for f in [*flags.see_a_professional, *flags.get_help_now]]
    assert not any("keeps coming back" in t or "might have" in t or "suspect" in t for t in texts)
    assert any("persistent" in t for t in texts)
    urgent = flags.get_help_now[0]
    assert "heartbeat feels irregular" in urgent.text


def test_food_caveats_sit_on_the_amounts_they_qualify(content: Content) -> None:
    clams = next(a for a in content.food("clams").amounts if a.nutrient == "vitamin-b12")
    assert "several times the Daily Value" in (clams.caveat or "")
    assert "much lower" in (clams.caveat or "") and clams.dv_percent is None
    liver = next(a for a in content.food("beef-liver").amounts if a.nutrient == "vitamin-b12")
    assert "arithmetic" in (liver.caveat or "")
    assert "2005" in (content.nutrient("potassium").daily_value_note or "")
    # The Daily Value is stated once, by the renderer: never again inside the texts.
    for nutrient in content.nutrients:
        assert "Daily Value" not in nutrient.intake, nutrient.id


@pytest.mark.parametrize(
    ("typed", "form"),
    [
        ("apricot", "dried"),
        ("chocolate", "70–85%"),
        ("milk", "US, fortified"),
        ("rice", "enriched"),
        ("pasta", "enriched"),
        ("plant milk", "Soy"),
        ("skimmed milk", "US, fortified"),
        ("semi-skimmed milk", "US, fortified"),
    ],
)
def test_a_broad_name_lands_on_a_form_its_title_names(
    content: Content, typed: str, form: str
) -> None:
    match = find(typed, content.food_candidates())
    assert match is not None
    food = content.food(match.candidate.id)
    assert form in food.name
    assert food.form_note and "These figures are for" in food.form_note
    if typed == "apricot":
        assert "dried apricots" in food.form_note and "Fresh apricots" in food.form_note
    if "milk" in typed and form.startswith("US"):
        assert "check the label" in food.form_note


def test_teenagers_get_their_own_figures(content: Content) -> None:
    for nutrient in content.nutrients:
        assert "14–18" in nutrient.intake, nutrient.id
        assert "14–18" in nutrient.upper_limit or "any age" in nutrient.upper_limit, nutrient.id
    sleep = content.tip_topic("sleep")
    assert "13–18" in sleep.summary and "8–10 hours" in sleep.summary
    scale = next(t for t in content.tip_topic("hydration").tips if t.id == "hydration-scale")
    assert "14–18" in scale.text
    stimulants = content.tip_topic("stimulants")
    assert stimulants.note is not None
    assert "American Academy of Pediatrics" in stimulants.note.text
    assert "teens" in stimulants.note.text


def test_each_citation_links_the_page_that_backs_it(content: Content) -> None:
    # Where the reference lists several pages under one id, the id lists them as pages.
    for source_id in ("S16", "S17", "S24", "S28", "S29", "S30c"):
        source = content.source(source_id)
        assert len(source.pages) >= 2 and source.url is None, source_id
    assert content.citation("S17:leg-cramps").url.endswith("night-leg-cramps")
    assert "low-potassium" in (content.citation("S17:low-potassium").url or "")
    tips = {tip.id: tip for topic in content.tip_topics for tip in topic.tips}
    assert cited_ids(tips["stretch-before-bed"].text) == ["S17:leg-cramps"]
    assert cited_ids(tips["caffeine-know-doses"].text) == ["S17:caffeine"]
    # Every cited page except the base article's can be opened.
    for key in cited_ids(*_health_texts(content)):
        citation = content.citation(key)
        assert citation.url or citation.source_id == "A1", key


def test_the_disclaimer_names_both_kinds_of_source(content: Content) -> None:
    assert "article" in content.disclaimer and "public health" in content.disclaimer


def test_stretching_is_headed_as_help_for_cramps_not_twitches(content: Content) -> None:
    stretching = content.tip_topic("stretching")
    assert "cramps" in stretching.name and "twitch" not in stretching.name.lower()
    assert all("twitch" not in tip.text for tip in stretching.tips)
    assert content.topic_of_tip("stretch-before-bed") is stretching


# --- broken copies ------------------------------------------------------------------------


def _copy(tmp_path: Path) -> Path:
    target = tmp_path / "my-content"
    shutil.copytree(SHIPPED_DIR, target, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    return target


def _edit(file: str, change: Callable[[dict[str, Any]], None]) -> Callable[[Path], None]:
    def apply(directory: Path) -> None:
        path = directory / file
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        change(data)
        path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), "utf-8")

    return apply


def _write(file: str, text: str) -> Callable[[Path], None]:
    return lambda directory: (directory / file).write_text(text, encoding="utf-8")


def _nutrient(data: dict[str, Any], nutrient_id: str) -> dict[str, Any]:
    return next(n for n in data["nutrients"] if n["id"] == nutrient_id)


def _food(data: dict[str, Any], food_id: str) -> dict[str, Any]:
    return next(f for f in data["foods"] if f["id"] == food_id)


BROKEN: dict[str, tuple[Callable[[Path], None], str]] = {
    "yaml syntax": (
        _write("foods.yaml", "foods:\n  - id: banana\n   name: [oops\n"),
        r"foods\.yaml: line \d+, column \d+: YAML syntax error: ",
    ),
    "missing file": (lambda d: (d / "tips.yaml").unlink(), r"tips\.yaml: file is missing$"),
    "empty file": (_write("about.yaml", ""), r"about\.yaml: file is empty$"),
    "list at top": (_write("sources.yaml", "- id: S1\n"), r"sources\.yaml: the top level must"),
    "duplicate yaml key": (
        _write("about.yaml", "about:\n  disclaimer: a\n  disclaimer: b\n"),
        r"about\.yaml: line 3, column 3: YAML syntax error: duplicate key 'disclaimer'",
    ),
    "field too long": (
        _edit("nutrients.yaml", lambda d: _nutrient(d, "magnesium").update(role="x" * 1187)),
        r"nutrients\.yaml: nutrients\[magnesium\]\.role: 1187 characters, Discord allows at "
        r"most 1024 in an embed field$",
    ),
    "name too long for autocomplete": (
        _edit("foods.yaml", lambda d: _food(d, "banana").update(name="B" * 101)),
        r"foods\.yaml: foods\[banana\]\.name: 101 characters, Discord allows at most 100 in an "
        r"autocomplete choice$",
    ),
    "unknown key": (
        _edit("nutrients.yaml", lambda d: _nutrient(d, "calcium").update(colour="red")),
        r"nutrients\.yaml: nutrients\[calcium\]\.colour: unknown key",
    ),
    "missing field": (
        _edit("nutrients.yaml", lambda d: _nutrient(d, "potassium").pop("intake")),
        r"nutrients\.yaml: nutrients\[potassium\]\.intake: required, but missing$",
    ),
    "wrong type": (
        _edit("foods.yaml", lambda d: _food(d, "banana")["amounts"][0].update(amount="lots")),
        r"foods\.yaml: foods\[banana\]\.amounts\[0\]\.amount: input should be a valid number",
    ),
    "empty text": (
        _edit("about.yaml", lambda d: d["about"].update(disclaimer="  ")),
        r"about\.yaml: about\.disclaimer: must not be empty$",
    ),
    "bad id": (
        _edit("foods.yaml", lambda d: _food(d, "banana").update(id="Banana Split")),
        r"foods\.yaml: foods\[Banana Split\]\.id: use lowercase letters",
    ),
    "duplicate id": (
        _edit("foods.yaml", lambda d: _food(d, "almonds").update(id="banana")),
        r'foods\.yaml: foods\[\d+\]\.id: duplicate id "banana"$',
    ),
    "duplicate alias": (
        _edit("foods.yaml", lambda d: _food(d, "banana")["aliases"].append("Sweet-Potato")),
        r'foods\.yaml: foods\[\w[\w-]*\]\.aliases: "[^"]+" also names foods\[[\w-]+\]$',
    ),
    "dangling food": (
        _edit("nutrients.yaml", lambda d: _nutrient(d, "magnesium")["best_foods"].append("kiwi")),
        r'nutrients\.yaml: nutrients\[magnesium\]\.best_foods: no food with id "kiwi" in '
        r"foods\.yaml$",
    ),
    "dangling nutrient": (
        _edit(
            "foods.yaml",
            lambda d: _food(d, "banana")["amounts"].append({"nutrient": "zinc", "amount": 1}),
        ),
        r'foods\.yaml: foods\[banana\]\.amounts\[zinc\]\.nutrient: no nutrient with id "zinc"',
    ),
    "unknown source": (
        _edit("foods.yaml", lambda d: _food(d, "banana")["sources"].append("S99")),
        r'foods\.yaml: foods\[banana\]\.sources: source "S99" is not in sources\.yaml$',
    ),
    "unlisted inline citation": (
        _edit(
            "nutrients.yaml",
            lambda d: _nutrient(d, "calcium").update(role="Helps muscles contract [S12]."),
        ),
        r"nutrients\.yaml: nutrients\[calcium\]\.role: cites \[S12\] but the entry's sources",
    ),
    "citation without its page": (
        _edit("tips.yaml", lambda d: d["topics"][4]["tips"][0].update(sources=["S17"])),
        r"tips\.yaml: topics\[stretching\]\.tips\[stretch-before-bed\]\.sources: source "
        r'"S17" lists several pages; cite the one that backs the text \(S17:magnesium\)$',
    ),
    "unknown page": (
        _edit("causes.yaml", lambda d: d["causes"].update(intro="Twitches [S17:naps].")),
        r'causes\.yaml: causes\.intro: cites \[S17:naps\], which has no page "naps" in '
        r"sources\.yaml \(its pages: magnesium, low-potassium, ",
    ),
    "url and pages": (
        _edit(
            "sources.yaml",
            lambda d: next(x for x in d["sources"] if x["id"] == "S17").update(url="https://x.org"),
        ),
        r"sources\.yaml: sources\[S17\]: give either url or pages, not both",
    ),
    "too few reminder messages": (
        _edit("reminders.yaml", lambda d: d["reminder_messages"].update(sleep=["Bed!"])),
        r"reminders\.yaml: reminder_messages\.sleep: list should have at least 6 items",
    ),
    "missing tip topic": (
        _edit("tips.yaml", lambda d: d["topics"].pop()),
        r"tips\.yaml: topics: needs each of hydration, stress, sleep, stimulants, stretching "
        r"exactly once \(missing: stretching\)$",
    ),
    "unknown food in a group": (
        _edit("foods.yaml", lambda d: d["groups"][0]["members"].append("cod")),
        r'foods\.yaml: groups\[fish\]\.members: no food with id "cod" in foods\.yaml$',
    ),
    "food group alias taken by a food": (
        _edit("foods.yaml", lambda d: d["groups"][0]["aliases"].append("tuna")),
        r"foods\.yaml: groups\[fish\]\.aliases: .*tuna",
    ),
    # Issue 19: the rules that keep what a careful reader needs.
    "liver without its vitamin A caution": (
        _edit(
            "foods.yaml",
            lambda d: d["foods"].append(
                {
                    "id": "chicken-liver",
                    "name": "Chicken liver, cooked",
                    "serving": "3 oz (85 g)",
                    "amounts": [{"nutrient": "vitamin-b12", "amount": 1}],
                    "sources": ["S14"],
                }
            ),
        ),
        r"foods\.yaml: foods\[chicken-liver\]: liver and fish-liver oils are the richest "
        r"sources of preformed vitamin A",
    ),
    "red flag that interprets the symptoms": (
        _edit(
            "red_flags.yaml",
            lambda d: d["red_flags"]["get_help_now"][0].update(
                text="you feel weak and your heart races (together these can mean low potassium)"
            ),
        ),
        r'red_flags\.yaml: red_flags\.get_help_now\[potassium-heart\]\.text: "these can" '
        r"interprets the symptoms",
    ),
    "medicine spacing without the pharmacist": (
        _edit(
            "nutrients.yaml",
            lambda d: _nutrient(d, "calcium").update(
                notes="Keep levothyroxine at least 4 h apart from calcium [S20]."
            ),
        ),
        r"nutrients\.yaml: nutrients\[calcium\]: notes space medicines apart without saying "
        r"to ask a pharmacist",
    ),
    "teen figures without the 9–13 ones": (
        _edit(
            "nutrients.yaml",
            lambda d: _nutrient(d, "magnesium").update(intake="Teens 14–18: 410 mg [S5]."),
        ),
        r"nutrients\.yaml: nutrients\[magnesium\]: intake gives figures for 14–18 but not "
        r"for 9–13",
    ),
    "teen water without the 9–13 figures": (
        _edit(
            "tips.yaml",
            lambda d: d["topics"][0]["tips"][1].update(text="Boys 14–18: 3.3 L a day [S12]."),
        ),
        r"tips\.yaml: topics\[hydration\]\.tips\[hydration-scale\]: the tip gives figures "
        r"for 14–18",
    ),
    "folate amount without DFE": (
        _edit(
            "nutrients.yaml",
            lambda d: _nutrient(d, "folate").update(
                intake="Adults: 400 mcg DFE. Pregnancy: 600 mcg; breastfeeding: 500 mcg [S6]."
            ),
        ),
        r"nutrients\.yaml: nutrients\[folate\]: intake gives an amount in mcg without DFE",
    ),
    "fortified food without check the label": (
        _edit("foods.yaml", lambda d: _food(d, "orange-juice-fortified").pop("note")),
        r"foods\.yaml: foods\[orange-juice-fortified\]: a fortified food's figures differ",
    ),
    "first screen too long": (
        _edit("nutrients.yaml", lambda d: _nutrient(d, "folate").update(role="r" * 1000)),
        r"nutrients\.yaml: nutrients\[folate\]: the first-screen texts \(name, role, "
        r"intake_summary, upper_limit_summary, caution, daily value\) add up to \d+ "
        r"characters; keep them under 750",
    ),
}


@pytest.mark.parametrize("case", list(BROKEN))
def test_each_broken_file_gives_one_line(tmp_path: Path, case: str) -> None:
    directory = _copy(tmp_path)
    load_content(directory)  # the untouched copy is fine
    breaker, expected = BROKEN[case]
    breaker(directory)
    with pytest.raises(StartupError) as raised:
        load_content(directory)
    message = str(raised.value)
    assert "\n" not in message
    assert message.startswith(f"{directory}/"), message
    assert re.search(expected, message), message


def test_a_missing_content_dir_is_named(tmp_path: Path) -> None:
    with pytest.raises(StartupError, match=r"nowhere: content directory not found"):
        load_content(tmp_path / "nowhere")


def test_shipped_errors_name_the_content_folder(monkeypatch: pytest.MonkeyPatch) -> None:
    import content.loader as loader

    def broken_read(path: Path, label: str) -> dict[str, Any]:
        raise StartupError(f"{label}: file is missing")

    monkeypatch.setattr(loader, "_read_yaml", broken_read)
    with pytest.raises(StartupError, match=r"^content/sources\.yaml: file is missing$"):
        load_content()
