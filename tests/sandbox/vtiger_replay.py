"""Replay of recorded real-server exchanges against the vtiger sandbox, compared after masking.

Masking (as for the public transcript in contracts/vtiger/recorded-salesplatform-7.2/): tokens, server times,
session names and record times are compared by type only; ws ids are compared by module prefix and mapped
(the n-th record the real server made is the n-th the sandbox made), and the mapping is applied to later
requests, as are session names; a masked login digest is recomputed for the sandbox's own token; secrets
the recorder masked (`*masked*`) match anything of the same type.

    python tests/sandbox/vtiger_replay.py [TRANSCRIPT]   # prints every exchange that differs, and the ratio
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import requests

if __name__ == "__main__":  # run as a script from a checkout
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from sandbox.vtiger import VtigerSandbox

RECORDED = Path(__file__).resolve().parent / "recorded" / "salesplatform-7.2"
MASKED = {"token", "serverTime", "expireTime", "sessionName", "createdtime", "modifiedtime"}
MASKED_SECRET = "*masked*"  # tools/real-vtiger/record.py
WS_ID = re.compile(r"^(\d+)x(\d+)$")
INSTALL_ZONE = "Europe/Moscow"  # the recorded install's config.inc.php time zone


class Mismatch(AssertionError):
    pass


def compare(
    recorded: Any, actual: Any, path: str, ids: dict[str, str], skip: frozenset[str] = frozenset()
) -> None:
    """Raise Mismatch at the first difference; ws ids and session names found are added to `ids`."""
    if isinstance(recorded, dict):
        if not isinstance(actual, dict):
            raise Mismatch(f"{path}: expected an object, got {json.dumps(actual, ensure_ascii=False)[:200]}")
        truncated = "..." in recorded  # the public transcript shortened this object
        keys = [k for k in recorded if k != "..."]
        if truncated and not set(keys) <= set(actual):
            raise Mismatch(f"{path}: keys missing {sorted(set(keys) - set(actual))}")
        if not truncated and list(actual) != keys:
            missing, extra = [k for k in keys if k not in actual], [k for k in actual if k not in recorded]
            raise Mismatch(
                f"{path}: keys differ (missing {missing}, extra {extra})"
                if missing or extra
                else f"{path}: key order differs"
            )
        for key in keys:
            if key in MASKED:
                if type(actual[key]) is not type(recorded[key]):
                    raise Mismatch(f"{path}.{key}: type {type(actual[key]).__name__}")
                if key == "sessionName":
                    ids.setdefault(recorded[key], actual[key])
            elif key not in skip:
                compare(recorded[key], actual[key], f"{path}.{key}", ids, skip)
    elif isinstance(recorded, list):
        if not isinstance(actual, list):
            raise Mismatch(f"{path}: expected a list, got {json.dumps(actual, ensure_ascii=False)[:200]}")
        cut = next(
            (i for i, item in enumerate(recorded) if isinstance(item, dict) and list(item) == ["..."]), None
        )
        if (cut is None and len(actual) != len(recorded)) or (cut is not None and len(actual) <= cut):
            raise Mismatch(
                f"{path}: {len(actual)} items, recorded {len(recorded)}: "
                f"{json.dumps(actual, ensure_ascii=False)[:300]}"
            )
        for i, item in enumerate(recorded if cut is None else recorded[:cut]):
            compare(item, actual[i], f"{path}[{i}]", ids)
    elif isinstance(recorded, str) and (match := WS_ID.match(recorded)) and recorded != "19x1":
        got = WS_ID.match(actual) if isinstance(actual, str) else None
        if got is None or got.group(1) != match.group(1) or ids.setdefault(recorded, actual) != actual:
            raise Mismatch(
                f"{path}: id {actual!r} for recorded {recorded!r} (mapped to {ids.get(recorded)!r})"
            )
    elif recorded == MASKED_SECRET:
        if not isinstance(actual, str):
            raise Mismatch(f"{path}: masked secret, got {actual!r}")
    elif type(actual) is not type(recorded) or actual != recorded:
        raise Mismatch(
            f"{path}: {json.dumps(actual, ensure_ascii=False)[:300]} "
            f"!= recorded {json.dumps(recorded, ensure_ascii=False)[:300]}"
        )


def outgoing(params: dict[str, str], ids: dict[str, str]) -> dict[str, str]:
    """Recorded request params with recorded ids and session names replaced by the sandbox's."""
    any_id = re.compile(r"(?<![\dx])\d+x\d+(?![\dx])")  # one pass: a mapped id is never mapped again
    return {
        key: ids.get(value, value)
        if key == "sessionName"
        else any_id.sub(lambda m: ids.get(m.group(), m.group()), value)
        for key, value in params.items()
    }


def _moment(exchange: dict[str, Any]) -> datetime | None:
    """When the real server handled the exchange: the record's own time if it has one, else `Date`."""
    result = exchange["response"].get("result")
    stamp = result.get("modifiedtime") if isinstance(result, dict) else None
    if isinstance(stamp, str) and stamp[:4].isdigit():
        return datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S").replace(tzinfo=ZoneInfo(INSTALL_ZONE))
    if exchange.get("date"):
        return datetime.strptime(exchange["date"], "%Y-%m-%d %H:%M:%S").replace(tzinfo=ZoneInfo("UTC"))
    return None


@dataclass
class Difference:
    number: int
    label: str
    detail: str

    def __str__(self) -> str:
        return f"#{self.number} {self.label}: {self.detail}"


def replay(
    transcript: list[dict[str, Any]],
    crm: VtigerSandbox,
    http: requests.Session,
    skips: dict[int, frozenset[str]] | None = None,
) -> list[Difference]:
    """Send every recorded request to `crm` in order; the exchanges whose answers differ after masking."""
    endpoint = crm.url + "/webservice.php"
    ids: dict[str, str] = {}
    tokens: dict[str, str] = {}
    differences: list[Difference] = []
    for number, exchange in enumerate(transcript):
        request, recorded = exchange["request"], exchange["response"]
        moment = _moment(exchange)
        if moment is not None:
            crm.set_time(moment)
        params = outgoing(request["params"], ids)
        if params.get("operation") == "login" and (
            params.get("accessKey") == MASKED_SECRET or recorded.get("success") is True
        ):
            token = tokens.get(params.get("username", ""), "")
            params["accessKey"] = hashlib.md5((token + crm.access_key).encode()).hexdigest()
        if request["method"] == "GET":
            response = http.get(endpoint, params=params, timeout=30)
        else:
            response = http.post(endpoint, data=params, timeout=30)
        try:
            if response.status_code != exchange["http_status"]:
                raise Mismatch(
                    f"HTTP {response.status_code}, recorded {exchange['http_status']}: {response.text[:200]}"
                )
            if "_raw_text" in recorded:
                if response.text != recorded["_raw_text"]:
                    raise Mismatch(
                        f"body {response.text[:200]!r} != recorded {recorded['_raw_text'][:200]!r}"
                    )
                continue
            if response.headers.get("Content-Type") != "application/json":
                raise Mismatch(f"Content-Type {response.headers.get('Content-Type')}: {response.text[:200]}")
            answer = response.json()
            if params.get("operation") == "getchallenge" and answer.get("success"):
                tokens[params.get("username", "")] = answer["result"]["token"]
            compare(recorded, answer, "response", ids, (skips or {}).get(number, frozenset()))
        except Mismatch as exc:
            differences.append(Difference(number, exchange["label"], str(exc)))
    return differences


def load(path: Path) -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = json.loads(path.read_text(encoding="utf-8"))
    return data


def main() -> int:
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else RECORDED / "transcript.json"
    transcript = load(path)
    with VtigerSandbox(timezone=INSTALL_ZONE) as crm, requests.Session() as http:
        differences = replay(transcript, crm, http)
    for difference in differences:
        print(difference)
    print(
        f"{len(differences)} of {len(transcript)} exchanges answered differently "
        f"({len(differences) / len(transcript):.1%})"
    )
    return 1 if differences else 0


if __name__ == "__main__":
    sys.exit(main())
