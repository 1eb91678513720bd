"""Record webservice exchanges from a real vtiger: the calls the bridge makes and the quirks the sandbox
must copy, each request with its answer, into a transcript the sandbox's replay test reads
(tests/sandbox/test_vtiger_recorded.py).

    eval "$(tools/real-vtiger/real-vtiger env salesplatform-7.2)"
    $VSB_REAL_VTIGER_RESET                      # the transcript's ids assume a fresh install
    python tools/real-vtiger/record.py          # -> tests/sandbox/recorded/salesplatform-7.2/transcript.json

The scenario is in `scenario.py`. Each exchange is stored as `{label, request: {method, params}, date,
http_status, response}`: `date` is the server's `Date` header (UTC), so a replay can set its clock to the
moment of each call. A body that is not JSON is stored as `{"_raw_text": body}` (PHP fatals: HTTP 500,
empty). Secrets are masked before anything is written (`MASKED_SECRET` in place of Users' password hashes
and access keys, and of the login digest); tokens and session names are kept, as in the public
transcript (contracts/vtiger/recorded-salesplatform-7.2/): they die with the recording session.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))  # vtiger_ws and bridge, run from a checkout
sys.path.insert(0, str(Path(__file__).resolve().parent))

MASKED_SECRET = "*masked*"
SECRET_FIELDS = ("accesskey", "user_password", "confirm_password", "user_hash")


def mask_secrets(value: Any, secrets: tuple[str, ...]) -> Any:
    """Users' password hashes and access keys, and any known secret string, replaced by MASKED_SECRET."""
    if isinstance(value, dict):
        return {
            k: MASKED_SECRET if k in SECRET_FIELDS and v else mask_secrets(v, secrets)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [mask_secrets(v, secrets) for v in value]
    if isinstance(value, str):
        for secret in secrets:
            if secret and secret in value:
                value = value.replace(secret, MASKED_SECRET)
    return value


class RecordingSession(requests.Session):
    """A requests.Session that keeps every webservice exchange, labelled by the scenario's current step."""

    def __init__(self, access_key: str, password: str) -> None:
        super().__init__()
        self.exchanges: list[dict[str, Any]] = []
        self.label = ""
        self.access_key = access_key
        self.secrets = (access_key, password)
        self.digests: set[str] = set()  # login digests a replay must compute itself

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:
        response = super().request(method, url, *args, **kwargs)
        method = method.decode() if isinstance(method, bytes) else method
        params = kwargs.get("params") if method.upper() == "GET" else kwargs.get("data")
        try:
            body: Any = response.json()
        except ValueError:
            body = {"_raw_text": response.text}
        stamp = response.headers.get("Date")
        params = {k: str(v) for k, v in dict(params or {}).items()}
        if isinstance(body, dict) and isinstance(body.get("result"), dict) and "token" in body["result"]:
            token = str(body["result"]["token"])
            self.digests.add(hashlib.md5((token + self.access_key).encode()).hexdigest())
        if params.get("operation") == "login" and params.get("accessKey") in self.digests:
            params["accessKey"] = MASKED_SECRET  # md5(token + access key): a replay computes its own
        self.exchanges.append(
            {
                "label": self.label or str(params.get("operation", "")),
                "request": {"method": method.upper(), "params": params},
                "date": parsedate_to_datetime(stamp).strftime("%Y-%m-%d %H:%M:%S") if stamp else "",
                "http_status": response.status_code,
                "response": mask_secrets(body, self.secrets),
            }
        )
        return response


def main() -> int:
    from latency import real_vtiger  # both after sys.path is set
    from scenario import run_scenario

    parser = argparse.ArgumentParser(description="record a real vtiger's webservice answers for the sandbox")
    default = ROOT / "tests/sandbox/recorded/salesplatform-7.2/transcript.json"
    parser.add_argument("--out", default=str(default))
    args = parser.parse_args()
    named = real_vtiger("record")
    if named is None:
        return 2
    url, user, key = named
    password = os.environ.get("VSB_REAL_VTIGER_PASSWORD", "")
    session = RecordingSession(key, password)
    try:
        run_scenario(session, url, user, key)
    except requests.RequestException as exc:
        last = session.exchanges[-1]["label"] if session.exchanges else "the first call"
        print(f"record: {url} did not answer after {last!r} (step {session.label!r}): {exc}", file=sys.stderr)
        return 1
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(session.exchanges, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    failed = sum(1 for e in session.exchanges if "_raw_text" in e["response"] or not e["response"]["success"])
    print(
        f"record: {len(session.exchanges)} exchanges ({failed} errors, as scripted) written to {out}; "
        "reset the CRM now"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
