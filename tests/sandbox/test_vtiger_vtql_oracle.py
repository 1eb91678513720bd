"""The sandbox's VTQL lexer/parser port answers every query of the recorded corpus exactly as vtiger's own
VTQL_Lexer.php/VTQL_Parser.php did (tests/sandbox/recorded/salesplatform-7.2/vtql_parser.json)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from sandbox.vtiger import vtql
from sandbox.vtiger.envelope import UNKNOWN_ERROR, PhpFatal, WsError

FIXTURE = json.loads(
    (Path(__file__).resolve().parent / "recorded" / "salesplatform-7.2" / "vtql_parser.json").read_text(
        encoding="utf-8"
    )
)
FIELDS, REFERENCES = set(FIXTURE["fields"]), set(FIXTURE["reference_fields"])
MODULES = set(FIXTURE["modules"])


def check_field(name: str, in_select: bool) -> None:
    if name not in FIELDS:
        raise WsError(
            "ACCESS_DENIED",
            f"Permission to access '.{name}.' attribute denied."
            if in_select
            else f"Permission to access {name} attribute denied.",
        )


def check_values(name: str, literals: list[str]) -> None:
    if name in REFERENCES and any("x" not in literal for literal in literals):
        raise WsError("INVALID_ID_ATTRIBUTE", "Id specified is incorrect")


def check_module(name: str) -> None:
    if name not in MODULES:
        raise WsError("ACCESS_DENIED", f"Permission to perform the operation is denied for name : {name}")


def outcome(query: str) -> dict[str, Any]:
    try:
        parsed = vtql.parse(query, check_field, check_values, check_module)
    except PhpFatal:
        return {"hang": True}
    except WsError as err:
        if err.code == "INTERNAL_SERVER_ERROR" and err.message == UNKNOWN_ERROR:
            return {"exception": "Exception"}  # the lexer's plain Exception
        return {"code": err.code, "message": err.message}
    if parsed is vtql.NoResult:
        return {"fail": ""}
    assert isinstance(parsed, vtql.Select)
    return {"ok": parsed.built}


def test_the_corpus_covers_every_kind_of_answer() -> None:
    kinds = {next(iter(case["outcome"])) for case in FIXTURE["cases"]}
    assert kinds >= {"ok", "code", "exception", "hang"}
    assert len(FIXTURE["cases"]) > 1000


@pytest.mark.parametrize("start", range(0, len(FIXTURE["cases"]), 100))
def test_every_query_is_answered_as_vtiger_answers_it(start: int) -> None:
    wrong = [
        (case["query"], case["outcome"], got)
        for case in FIXTURE["cases"][start : start + 100]
        if (got := outcome(case["query"])) != case["outcome"]
    ]
    assert wrong == []
