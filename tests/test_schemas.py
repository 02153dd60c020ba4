"""The topic contracts: schemas are valid 2020-12, examples mean what their names say,
and the fast decoder agrees with a reference JSON Schema implementation on every example."""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path

import jsonschema
import pytest

from streams.core.events import APPEAL_OUTCOMES, MINI_PROGRAM_EVENT_TYPES, QUALIFICATION_STATUSES
from streams.decode import (
    SCHEMA_NAMES,
    DecodeError,
    decode_input,
    load_schema,
    schema_dir,
    validate_action,
)
from streams.topics import ACTIONS, INPUT_TOPICS

DRAFT_2020_12 = "https://json-schema.org/draft/2020-12/schema"
EXAMPLES = schema_dir() / "examples"
MIN_EXAMPLES_PER_KIND = 3


def _examples(kind: str) -> list[tuple[str, Path]]:
    return [
        (topic, path)
        for topic in SCHEMA_NAMES
        for path in sorted((EXAMPLES / topic / kind).glob("*.json"))
    ]


def _example_id(case: tuple[str, Path]) -> str:
    topic, path = case
    return f"{topic}/{path.stem}"


# An RFC 3339 date-time check written independently of streams.core.timefmt, used only
# when jsonschema's own checker (which needs the optional rfc3339-validator) is absent.
_RFC3339 = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d+)?(Z|[+-](\d{2}):(\d{2}))$",
    re.IGNORECASE | re.ASCII,
)


def _is_rfc3339(value: object) -> bool:
    if not isinstance(value, str):
        return True  # formats only constrain strings
    match = _RFC3339.match(value)
    if not match:
        return False
    year, month, day, hour, minute, second = (int(match.group(i)) for i in range(1, 7))
    if match.group(9) and (int(match.group(9)) > 23 or int(match.group(10)) > 59):
        return False
    try:
        datetime(year, month, day, hour, minute, second)
    except ValueError:
        return False
    return True


def _format_checker() -> jsonschema.FormatChecker:
    checker = jsonschema.FormatChecker()
    if "date-time" not in checker.checkers:
        checker.checks("date-time")(_is_rfc3339)
    return checker


def _reference_validator(topic: str, validator_class=jsonschema.Draft202012Validator):
    return validator_class(load_schema(topic), format_checker=_format_checker())


def _decode(topic: str, raw: bytes) -> None:
    if topic == ACTIONS:
        validate_action(json.loads(raw))
    else:
        decode_input(topic, raw)


def test_every_topic_has_a_schema_file_and_nothing_else_does() -> None:
    files = {path.name for path in schema_dir().glob("*.schema.json")}
    assert files == {f"{topic}.schema.json" for topic in SCHEMA_NAMES}


@pytest.mark.parametrize("topic", SCHEMA_NAMES)
def test_schema_is_valid_draft_2020_12_with_an_id(topic: str) -> None:
    schema = load_schema(topic)
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == DRAFT_2020_12
    assert schema["$id"].endswith(f"/{topic}.schema.json")


@pytest.mark.parametrize("topic", INPUT_TOPICS)
def test_input_schemas_allow_unknown_fields(topic: str) -> None:
    assert load_schema(topic).get("additionalProperties", True) is True


@pytest.mark.parametrize("topic", SCHEMA_NAMES)
def test_every_topic_has_enough_valid_and_invalid_examples(topic: str) -> None:
    for kind in ("valid", "invalid"):
        found = list((EXAMPLES / topic / kind).glob("*.json"))
        assert len(found) >= MIN_EXAMPLES_PER_KIND, f"{topic}/{kind} has {len(found)}"


def test_enums_match_the_core_vocabulary() -> None:
    mini_program = load_schema("miniprogram.events.v1")["properties"]
    assert set(mini_program["type"]["enum"]) == MINI_PROGRAM_EVENT_TYPES
    qualification = load_schema("qualifications.v1")["properties"]
    assert set(qualification["status"]["enum"]) == QUALIFICATION_STATUSES
    appeal = load_schema("enforcement.appeals.v1")["properties"]
    assert set(appeal["outcome"]["enum"]) == APPEAL_OUTCOMES


def test_action_schema_lists_the_contract_vocabularies() -> None:
    properties = load_schema(ACTIONS)["properties"]
    assert set(properties["action"]["enum"]) == {
        "qualification_reminder",
        "suspend",
        "review",
        "reinstate",
        "case_closed",
    }
    assert set(properties["subject"]["properties"]["kind"]["enum"]) == {
        "official_account",
        "mini_program",
    }
    assert set(properties["mode"]["enum"]) == {"enforce", "shadow"}
    assert "deadline" not in load_schema(ACTIONS)["required"]


@pytest.mark.parametrize("case", _examples("valid"), ids=_example_id)
def test_valid_example_passes_reference_validator(case: tuple[str, Path]) -> None:
    topic, path = case
    errors = list(_reference_validator(topic).iter_errors(json.loads(path.read_bytes())))
    assert errors == []


@pytest.mark.parametrize("case", _examples("valid"), ids=_example_id)
def test_valid_example_passes_decoder(case: tuple[str, Path]) -> None:
    topic, path = case
    _decode(topic, path.read_bytes())


@pytest.mark.parametrize("case", _examples("invalid"), ids=_example_id)
def test_invalid_example_fails_reference_validator(case: tuple[str, Path]) -> None:
    topic, path = case
    assert not _reference_validator(topic).is_valid(json.loads(path.read_bytes()))


@pytest.mark.parametrize("case", _examples("invalid"), ids=_example_id)
def test_invalid_example_fails_decoder(case: tuple[str, Path]) -> None:
    topic, path = case
    with pytest.raises(DecodeError):
        _decode(topic, path.read_bytes())


@pytest.mark.parametrize("case", _examples("valid") + _examples("invalid"), ids=_example_id)
def test_draft_07_reads_the_schema_the_same_way(case: tuple[str, Path]) -> None:
    """fastjsonschema implements draft-07 semantics, so the keywords must mean the same."""
    topic, path = case
    document = json.loads(path.read_bytes())
    verdict_2020 = _reference_validator(topic).is_valid(document)
    verdict_07 = _reference_validator(topic, jsonschema.Draft7Validator).is_valid(document)
    assert verdict_07 == verdict_2020


def test_examples_are_plain_json_objects_without_comments() -> None:
    for _topic, path in _examples("valid") + _examples("invalid"):
        document = json.loads(path.read_bytes())
        assert isinstance(document, dict)
        assert "_comment" not in document
