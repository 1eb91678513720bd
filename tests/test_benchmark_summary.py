"""benchmarks/README.md's summary says what benchmarks/REPORT.md measured (issue 14 §4: the summary once
gave 44.9 s for a start-up the report put at 23 s).

Every number in the summary table's "measured" column must be a figure of the report, as written there or
rounded to the digits the summary shows (26.47 may be summarised as 26.5; 1,013 as 1013).
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NUMBER = re.compile(r"\d[\d,]*(?:\.\d+)?")


def _numbers(text: str) -> list[str]:
    return [n.replace(",", "") for n in NUMBER.findall(text)]


def _summary_measured() -> list[tuple[str, str]]:
    """(figure, measured) of each row of the README's summary table."""
    text = (ROOT / "benchmarks" / "README.md").read_text(encoding="utf-8")
    section = text.split("## Latest results", 1)[1].split("\n## ", 1)[0]
    rows = []
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("|") and len(cells) >= 2 and cells[0] not in ("figure", "") and "---" not in line:
            rows.append((cells[0], cells[1]))
    return rows


def _in_report(number: str, report: list[str]) -> bool:
    digits = len(number.split(".", 1)[1]) if "." in number else 0
    wanted = float(number)
    return any(abs(round(float(r), digits) - wanted) < 1e-9 for r in report)


def test_the_readme_summary_has_rows() -> None:
    assert len(_summary_measured()) >= 10


def test_every_figure_of_the_readme_summary_is_in_the_report() -> None:
    report = _numbers((ROOT / "benchmarks" / "REPORT.md").read_text(encoding="utf-8"))
    missing = [
        f"{figure}: {number}"
        for figure, measured in _summary_measured()
        for number in _numbers(measured)
        if not _in_report(number, report)
    ]
    assert missing == [], "benchmarks/README.md summarises figures REPORT.md does not hold"
