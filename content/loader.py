"""Read and validate the content files, or stop start-up with one line saying what is wrong.

Every problem becomes ``<file>: <entry>.<field>: <reason>``, with list entries named by their
``id`` (``nutrients[magnesium].role``) so a self-hoster editing their own copy can find it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from content import citations, limits
from content.matching import normalise
from content.model import Content
from content.schema import FILES, Group
from domain.errors import StartupError

SHIPPED_DIR = Path(__file__).resolve().parent


class _UniqueKeyLoader(yaml.SafeLoader):
    """PyYAML keeps the last of two equal keys silently; an edited file should be told."""


def _construct_mapping(
    loader: _UniqueKeyLoader, node: yaml.MappingNode, deep: bool = False
) -> dict[Any, Any]:
    loader.flatten_mapping(node)
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark
            )
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


_UniqueKeyLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
    _construct_mapping,
)


def load_content(directory: Path | None = None) -> Content:
    """Load every content file from ``directory`` (default: the shipped ``content/``)."""
    if directory is None:
        directory, shown = SHIPPED_DIR, "content"
    else:
        directory, shown = Path(directory), str(directory).rstrip("/") or "/"
    if not directory.is_dir():
        raise StartupError(f"{shown}: content directory not found (check CONTENT_DIR)")

    raw: dict[str, dict[str, Any]] = {}
    parsed: dict[str, Any] = {}
    for name, model in FILES.items():
        label = f"{shown}/{name}"
        data = _read_yaml(directory / name, label)
        raw[name] = data
        try:
            parsed[name] = model.model_validate(data)
        except ValidationError as error:
            raise StartupError(_describe(error, data, label)) from None

    _check_references(raw, parsed, shown)
    content = Content(
        sources=tuple(parsed["sources.yaml"].sources),
        about=parsed["about.yaml"].about,
        nutrients=tuple(parsed["nutrients.yaml"].nutrients),
        nutrient_groups=tuple(parsed["nutrients.yaml"].groups),
        foods=tuple(parsed["foods.yaml"].foods),
        food_groups=tuple(parsed["foods.yaml"].groups),
        compare=parsed["compare.yaml"].compare,
        causes=parsed["causes.yaml"].causes,
        red_flags=parsed["red_flags.yaml"].red_flags,
        tip_topics=tuple(parsed["tips.yaml"].topics),
        reminders=parsed["reminders.yaml"].reminder_messages,
    )
    _check_compare_cautions(content, shown)
    return content


def _check_compare_cautions(content: Content, shown: str) -> None:
    """A /compare row carries the cautions of the nutrients it covers and the foods it names:
    with them it must still fit one embed field."""
    for index, row in enumerate(content.compare.rows):
        cautions = content.compare_row_cautions(row)
        total = len(row.role) + len(row.deficiency_symptom) + len(row.best_sources) + 80
        total += sum(len(c) + 4 for c in cautions)
        if total > limits.EMBED_FIELD_VALUE:
            raise StartupError(
                f"{shown}/compare.yaml: compare.rows[{index}]: with the cautions of what it "
                f"names the row renders to about {total} characters, Discord allows at most "
                f"{limits.EMBED_FIELD_VALUE} in an embed field"
            )


def _read_yaml(path: Path, label: str) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise StartupError(f"{label}: file is missing") from None
    except UnicodeDecodeError:
        raise StartupError(f"{label}: not UTF-8 text") from None
    except OSError as error:
        raise StartupError(f"{label}: cannot be read ({error.strerror})") from None
    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(error, "problem", None) or str(error)
        raise StartupError(f"{label}: {where}YAML syntax error: {problem}") from None
    if data is None:
        raise StartupError(f"{label}: file is empty")
    if not isinstance(data, dict):
        raise StartupError(f"{label}: the top level must be a mapping (key: value), not a list")
    return data


_MESSAGES = {
    "missing": "required, but missing",
    "extra_forbidden": "unknown key (misspelled, or in the wrong place?)",
    "string_pattern_mismatch": "use lowercase letters, digits and hyphens (like sweet-potato); "
    "source ids look like S14",
}


def _describe(error: ValidationError, data: Any, label: str) -> str:
    first = error.errors(include_url=False)[0]
    path = _path(data, first["loc"])
    kind = first["type"]
    if kind == "string_pattern_mismatch" and first["loc"] and first["loc"][-1] == "id":
        message = "use lowercase letters, digits and hyphens, like sweet-potato"
    elif kind == "string_pattern_mismatch":
        message = "not a valid id: " + _MESSAGES[kind]
    elif kind in _MESSAGES:
        message = _MESSAGES[kind]
    elif kind.endswith("_type") or kind.endswith("_parsing"):
        got = type(first.get("input")).__name__
        got = {"NoneType": "nothing", "dict": "a mapping", "list": "a list"}.get(got, got)
        message = f"{first['msg'][0].lower()}{first['msg'][1:]} (got {got})"
    else:
        message = first["msg"]
        message = message[:1].lower() + message[1:]
    return _one_line(f"{label}: {path}: {message}" if path else f"{label}: {message}")


def _path(data: Any, loc: tuple[int | str, ...]) -> str:
    """``('nutrients', 0, 'role')`` -> ``nutrients[magnesium].role`` (ids read from ``data``)."""
    text = ""
    node = data
    for key in loc:
        if isinstance(key, int):
            item = node[key] if isinstance(node, list) and 0 <= key < len(node) else None
            name = item.get("id") if isinstance(item, dict) else None
            text += f"[{name}]" if isinstance(name, str | int) and str(name) else f"[{key}]"
            node = item
        else:
            text += f".{key}" if text else str(key)
            node = node.get(key) if isinstance(node, dict) else None
    return text


def _one_line(text: str) -> str:
    return " ".join(text.split())


# --- checks that span files ---------------------------------------------------------------


def _check_groups(
    file: str,
    what: str,
    groups: Sequence[Group],
    entry_ids: set[str],
    fail: Callable[[str, str, str], None],
) -> None:
    """A group's id is not an entry's, and each of its members is one."""
    for group in groups:
        if group.id in entry_ids:
            fail(file, f"groups[{group.id}].id", f"already used by a {what}")
        for member in group.members:
            if member not in entry_ids:
                fail(file, f"groups[{group.id}].members", _unknown(what, member, file))


def _check_references(raw: dict[str, dict[str, Any]], parsed: dict[str, Any], shown: str) -> None:
    sources = parsed["sources.yaml"].sources
    nutrients_file = parsed["nutrients.yaml"]
    foods = parsed["foods.yaml"].foods

    def fail(file: str, path: str, reason: str) -> None:
        raise StartupError(_one_line(f"{shown}/{file}: {path}: {reason}"))

    _unique_ids("sources.yaml", "sources", sources, fail)
    _unique_ids("nutrients.yaml", "nutrients", nutrients_file.nutrients, fail)
    _unique_ids("nutrients.yaml", "groups", nutrients_file.groups, fail)
    _unique_ids("foods.yaml", "foods", foods, fail)
    _unique_ids("causes.yaml", "causes.sections", parsed["causes.yaml"].causes.sections, fail)
    flags = parsed["red_flags.yaml"].red_flags
    _unique_ids(
        "red_flags.yaml",
        "red_flags.flags",
        [*flags.see_a_professional, *flags.get_help_now],
        fail,
    )
    tips = [(topic.id, tip) for topic in parsed["tips.yaml"].topics for tip in topic.tips]
    seen_tips: dict[str, str] = {}
    for topic_id, tip in tips:
        if tip.id in seen_tips:
            fail("tips.yaml", f"topics[{topic_id}].tips[{tip.id}].id", "duplicate id")
        seen_tips[tip.id] = topic_id

    nutrient_ids = {n.id for n in nutrients_file.nutrients}
    group_ids = {g.id for g in nutrients_file.groups}
    _check_groups("nutrients.yaml", "nutrient", nutrients_file.groups, nutrient_ids, fail)
    food_groups = parsed["foods.yaml"].groups
    _unique_ids("foods.yaml", "groups", food_groups, fail)
    _check_groups("foods.yaml", "food", food_groups, {f.id for f in foods}, fail)

    _unique_aliases(
        "nutrients.yaml",
        [("nutrients", n) for n in nutrients_file.nutrients]
        + [("groups", g) for g in nutrients_file.groups],
        fail,
    )
    _unique_aliases(
        "foods.yaml", [("foods", f) for f in foods] + [("groups", g) for g in food_groups], fail
    )

    food_nutrients = {f.id: {a.nutrient for a in f.amounts} for f in foods}
    for food in foods:
        seen: set[str] = set()
        for amount in food.amounts:
            where = f"foods[{food.id}].amounts[{amount.nutrient}].nutrient"
            if amount.nutrient not in nutrient_ids:
                fail("foods.yaml", where, _unknown("nutrient", amount.nutrient))
            if amount.nutrient in seen:
                fail("foods.yaml", where, "listed twice for this food")
            seen.add(amount.nutrient)
    for nutrient in nutrients_file.nutrients:
        for food_id in nutrient.best_foods:
            where = f"nutrients[{nutrient.id}].best_foods"
            if food_id not in food_nutrients:
                fail("nutrients.yaml", where, _unknown("food", food_id, "foods.yaml"))
            if nutrient.id not in food_nutrients[food_id]:
                fail("nutrients.yaml", where, f'food "{food_id}" has no amount of {nutrient.id}')

    for index, row in enumerate(parsed["compare.yaml"].compare.rows):
        for ref in row.refers_to:
            if ref not in nutrient_ids | group_ids:
                fail("compare.yaml", f"compare.rows[{index}].refers_to", _unknown("nutrient", ref))

    by_id = {s.id: s for s in sources}

    def key_problem(key: str) -> str | None:
        source = by_id.get(citations.source_id(key))
        if source is None:
            return "is not in sources.yaml"
        page = key.partition(":")[2]
        pages = [p.id for p in source.pages]
        if page and page not in pages:
            known = ", ".join(pages) or "none: this source has one url"
            return f'has no page "{page}" in sources.yaml (its pages: {known})'
        if pages and not page:
            return f"lists several pages; cite the one that backs the text ({source.id}:{pages[0]})"
        return None

    for file, data in raw.items():
        if file == "sources.yaml":
            continue
        for path, ref in _source_refs(data):
            problem = key_problem(ref)
            if problem:
                fail(file, path, f'source "{ref}" {problem}')
        for path, ref, listed in _inline_citations(data):
            problem = key_problem(ref)
            if problem:
                fail(file, path, f"cites [{ref}], which {problem}")
            if listed is not None and ref not in listed:
                fail(file, path, f"cites [{ref}] but the entry's sources list does not include it")


def _unknown(kind: str, value: str, file: str = "nutrients.yaml") -> str:
    return f'no {kind} with id "{value}" in {file}'


def _unique_ids(file: str, path: str, entries: list[Any], fail: Any) -> None:
    seen: set[str] = set()
    for index, entry in enumerate(entries):
        if entry.id in seen:
            fail(file, f"{path}[{index}].id", f'duplicate id "{entry.id}"')
        seen.add(entry.id)


def _unique_aliases(file: str, entries: list[tuple[str, Any]], fail: Any) -> None:
    owner: dict[str, str] = {}
    for list_name, entry in entries:
        where = f"{list_name}[{entry.id}]"
        for spelling in dict.fromkeys([entry.name, entry.id, *entry.aliases]):
            key = normalise(spelling).replace(" ", "")
            if not key:
                fail(file, f"{where}.aliases", f'"{spelling}" has no letters or digits to match')
            if key in owner and owner[key] != where:
                fail(file, f"{where}.aliases", f'"{spelling}" also names {owner[key]}')
            owner[key] = where


def _source_refs(data: Any, path: str = "") -> list[tuple[str, str]]:
    """Every ``sources:`` / ``*_sources:`` citation in a file, with the path to it."""
    found: list[tuple[str, str]] = []
    if isinstance(data, dict):
        for key, value in data.items():
            here = f"{path}.{key}" if path else str(key)
            if str(key) == "sources" or str(key).endswith("_sources"):
                if isinstance(value, list):
                    found += [(here, v) for v in value if isinstance(v, str)]
                    continue
            found += _source_refs(value, here)
    elif isinstance(data, list):
        for index, item in enumerate(data):
            name = item.get("id") if isinstance(item, dict) else None
            found += _source_refs(item, f"{path}[{name if name else index}]")
    return found


def _inline_citations(
    data: Any, path: str = "", listed: frozenset[str] | None = None
) -> list[tuple[str, str, frozenset[str] | None]]:
    """Every ``[S14]``-style citation in the texts, with the sources list that should hold it."""
    found: list[tuple[str, str, frozenset[str] | None]] = []
    if isinstance(data, dict):
        own = data.get("sources")
        if isinstance(own, list):
            listed = frozenset(v for v in own if isinstance(v, str))
        for key, value in data.items():
            here = f"{path}.{key}" if path else str(key)
            found += _inline_citations(value, here, listed)
    elif isinstance(data, list):
        for index, item in enumerate(data):
            name = item.get("id") if isinstance(item, dict) else None
            found += _inline_citations(item, f"{path}[{name if name else index}]", listed)
    elif isinstance(data, str):
        found += [(path, key, listed) for key in citations.citations_in(data)]
    return found
