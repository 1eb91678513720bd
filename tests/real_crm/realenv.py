"""Which real vtiger the real-CRM suite talks to: read from the environment, never guessed.

`tools/real-vtiger/real-vtiger env PROFILE` prints exactly these exports; see tools/real-vtiger/README.md.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from vtiger_ws import VtigerClient

REPO = Path(__file__).resolve().parents[2]
HARNESS = REPO / "tools" / "real-vtiger" / "real-vtiger"

REQUIRED = (
    "VSB_REAL_VTIGER_URL",
    "VSB_REAL_VTIGER_USER",
    "VSB_REAL_VTIGER_ACCESS_KEY",
    "VSB_REAL_VTIGER_ROOT",
)
SKIP_REASON = (
    "real-CRM suite not run: no real vtiger named (set VSB_REAL_VTIGER_URL, _USER, _ACCESS_KEY, _ROOT, e.g. "
    '`eval "$(tools/real-vtiger/real-vtiger env salesplatform-7.2)"`; see tools/real-vtiger/README.md)'
)


class RealEnvError(Exception):
    """The environment names a real vtiger, but not completely or not usably."""


@dataclass(frozen=True)
class RealVtiger:
    url: str
    user: str
    access_key: str
    root: Path
    php: str = "php"
    password: str = ""
    profile: str = ""
    timezone: str = "UTC"
    reset_command: tuple[str, ...] = ()

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> RealVtiger | None:
        """None when no real vtiger is named; RealEnvError when it is named half-way or wrongly."""
        if not any(env.get(name) for name in REQUIRED):
            return None
        missing = [name for name in REQUIRED if not env.get(name)]
        if missing:
            raise RealEnvError(f"real-CRM suite: {', '.join(missing)} not set (tools/real-vtiger/README.md)")
        root = Path(env["VSB_REAL_VTIGER_ROOT"])
        if not (root / "vtigerversion.php").is_file():
            raise RealEnvError(f"real-CRM suite: VSB_REAL_VTIGER_ROOT={root} has no vtigerversion.php")
        profile = env.get("VSB_REAL_VTIGER_PROFILE", "")
        reset: tuple[str, ...] = ()
        if env.get("VSB_REAL_VTIGER_RESET"):
            reset = tuple(shlex.split(env["VSB_REAL_VTIGER_RESET"]))
        elif profile:
            reset = (str(HARNESS), "reset", profile)
        return cls(
            url=env["VSB_REAL_VTIGER_URL"].rstrip("/"),
            user=env["VSB_REAL_VTIGER_USER"],
            access_key=env["VSB_REAL_VTIGER_ACCESS_KEY"],
            root=root,
            php=env.get("VSB_REAL_VTIGER_PHP", "php"),
            password=env.get("VSB_REAL_VTIGER_PASSWORD", ""),
            profile=profile,
            timezone=env.get("VSB_REAL_VTIGER_TIMEZONE", "UTC"),
            reset_command=reset,
        )

    def client(self) -> VtigerClient:
        return VtigerClient(self.url, self.user, self.access_key)

    def reset(self) -> float:
        """Back to the fresh install (database and files); returns the seconds it took."""
        if not self.reset_command:
            raise RealEnvError("real-CRM suite: no reset command (set VSB_REAL_VTIGER_PROFILE or _RESET)")
        started = time.monotonic()
        done = subprocess.run(self.reset_command, capture_output=True, text=True, timeout=300)
        if done.returncode != 0:
            raise RealEnvError(f"real-CRM suite: reset failed: {done.stderr.strip()[-500:]}")
        return time.monotonic() - started

    def php_run(
        self, script: Path | str, args: Sequence[str] = (), *, stdin: str = "", timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        """A PHP script with the CRM's PHP, from the vtiger root (as vtiger's own CLI scripts run)."""
        return subprocess.run(
            [self.php, str(script), *args],
            cwd=self.root,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
