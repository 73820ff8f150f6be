"""The shipped content loads, holds what the features need, and broken copies fail clearly."""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.errors import StartupError
from content import Content, load_content
from content.loader import SHIPPED_DIR
from content.schema import FILES, REMINDER_KINDS, TIP_TOPICS


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


def test_every_number_in_health_text_is_cited(content: Content) -> None:
    texts: list[str] = []
    for n in content.nutrients:
        texts += [n.role, n.deficiency_signs, n.intake, n.upper_limit, n.at_risk]
        texts += [t for t in (n.notes, n.food_caveats) if t]
    texts += [tip.text for topic in content.tip_topics for tip in topic.tips]
    texts += [topic.summary for topic in content.tip_topics]
    texts += [s.text for s in content.causes.sections]
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
    assert content.tips_for_kind("caffeine") == list(content.tip_topic("stimulants").tips)
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
            lambda d: _nutrient(d, "calcium").update(role="Helps muscles contract [S29]."),
        ),
        r"nutrients\.yaml: nutrients\[calcium\]\.role: cites \[S29\] but the entry's sources",
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
    "whole embed too long": (
        _edit(
            "nutrients.yaml",
            lambda d: _nutrient(d, "folate").update(
                role="r" * 1000, intake="i" * 1000, at_risk="a" * 1000, notes="n" * 1000
            ),
        ),
        r"nutrients\.yaml: nutrients\[folate\]: the texts add up to \d+ characters; .* "
        r"Discord's 6000-character embed limit",
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
