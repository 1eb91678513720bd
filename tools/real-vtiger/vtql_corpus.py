"""Record what vtiger's own VTQL lexer and parser answer to a corpus of queries, for the sandbox's port
(sandbox/vtiger/vtql_lemon.py) to be checked against: tests/sandbox/test_vtiger_vtql_oracle.py.

    python tools/real-vtiger/vtql_corpus.py /opt/src/salesplatform-7.2   # needs php7.4 (or --php)

The corpus is the queries the sandbox tests and the recorded transcript send, plus mutations of a few
well-formed queries (tokens inserted, dropped, replaced; a fixed seed, so the file is reproducible). The
parser runs on module metadata stubbed in vtql_oracle.php; the fixture names those fields.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "tests/sandbox/recorded/salesplatform-7.2/vtql_parser.json"
BASE = [
    "SELECT id FROM Contacts;",
    "SELECT id, lastname FROM Contacts WHERE lastname = 'x';",
    "SELECT * FROM Contacts WHERE id IN ('12x1','12x2') ORDER BY id DESC LIMIT 5;",
    "SELECT count(*) FROM Contacts WHERE lastname LIKE 'a%' AND firstname = 'b' OR vk_url != 'c';",
    "SELECT id FROM Contacts LIMIT 0, 150;",
    "SELECT id FROM Contacts WHERE account_id = '11x5';",
    "SELECT id,modifiedtime,vk_url FROM Contacts WHERE modifiedtime > '2026-11-30 10:00:00' OR "
    "modifiedtime = '2026-11-30 10:00:00' AND id > '12x7' ORDER BY modifiedtime,id LIMIT 100;",
]
PARTS = [
    "SELECT",
    "select",
    "id",
    "lastname",
    "firstname",
    "nosuch",
    ",",
    "*",
    "count",
    "(",
    ")",
    "FROM",
    "from",
    "Contacts",
    "WHERE",
    "where",
    "=",
    "<",
    ">",
    "<=",
    ">=",
    "!=",
    "<>",
    "IN",
    "in",
    "LIKE",
    "AND",
    "OR",
    "and",
    "'x'",
    "'a''b'",
    "'12x3'",
    "5",
    "-1",
    "ORDER",
    "BY",
    "order by",
    "ASC",
    "DESC",
    "LIMIT",
    "10",
    ";",
    "account_id",
    "IS",
    "NULL",
    "NOT",
    "''",
    "'",
    "\\",
    "ё",
    "10,5",
    "limit 5, 10",
    "vk_url",
]


def corpus(mutations: int, seed: int = 20261205) -> list[str]:
    rnd = random.Random(seed)
    queries = list(BASE)
    for _ in range(mutations):
        words = rnd.choice(BASE).split(" ")
        for _ in range(rnd.randint(1, 3)):
            i, roll = rnd.randrange(len(words) + 1), rnd.random()
            if roll < 0.4:
                words.insert(i, rnd.choice(PARTS))
            elif words and roll < 0.7:
                words.pop(min(i, len(words) - 1))
            elif words:
                words[min(i, len(words) - 1)] = rnd.choice(PARTS)
        queries.append(" ".join(words))
    return list(dict.fromkeys(queries))


def main() -> int:
    parser = argparse.ArgumentParser(description="record vtiger's VTQL parser answers for the sandbox")
    parser.add_argument("source", help="a vtiger source tree (include/Webservices/VTQL_Parser.php)")
    parser.add_argument("--php", default="php7.4")
    parser.add_argument("--mutations", type=int, default=1500)
    args = parser.parse_args()
    if not (Path(args.source) / "include/Webservices/VTQL_Parser.php").is_file():
        print(f"vtql_corpus: {args.source} has no include/Webservices/VTQL_Parser.php", file=sys.stderr)
        return 2
    transcript = json.loads((OUT.parent / "transcript.json").read_text(encoding="utf-8"))
    recorded = [
        e["request"]["params"]["query"]
        for e in transcript
        if e["request"]["params"].get("operation") == "query"
    ]
    queries = list(dict.fromkeys(recorded + corpus(args.mutations)))
    oracle = Path(__file__).with_name("vtql_oracle.php")
    lines_in = "\n".join(json.dumps(q) for q in queries) + "\n"
    run = subprocess.run(
        [args.php, str(oracle), args.source],
        input=lines_in,
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    )
    outcomes = [json.loads(line) for line in run.stdout.splitlines()]
    if len(outcomes) != len(queries):
        print(f"vtql_corpus: {len(outcomes)} answers for {len(queries)} queries", file=sys.stderr)
        return 1
    cases = []
    for query, outcome in zip(queries, outcomes, strict=True):
        if "ok" in outcome:
            outcome = {"ok": outcome["ok"] != ""}  # parsed; whether an SQL statement was built
        cases.append({"query": query, "outcome": outcome})
    fixture = {
        "_about": "what SalesPlatform 7.2's VTQL_Lexer.php/VTQL_Parser.php answer to each query "
        "(tools/real-vtiger/vtql_corpus.py with vtql_oracle.php's stub metadata)",
        "modules": ["Contacts", "ModComments"],
        "fields": [
            "firstname",
            "lastname",
            "account_id",
            "assigned_user_id",
            "vk_url",
            "description",
            "modifiedtime",
            "id",
        ],
        "reference_fields": ["account_id"],
        "cases": cases,
    }
    text = json.dumps({k: v for k, v in fixture.items() if k != "cases"}, ensure_ascii=False)[:-1]
    # one case a line: readable diffs
    lines = ",\n".join(json.dumps(case, ensure_ascii=False) for case in cases)
    OUT.write_text(f'{text}, "cases": [\n{lines}\n]}}\n', encoding="utf-8")
    print(f"vtql_corpus: {len(cases)} queries written to {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
