"""Exit codes of every command, and the one-line explanation of each failure a user can cause.

The README's exit-code table is this module in prose; `tests/daemon/test_exit_codes.py` runs one case per
row. Codes above 2 follow sysexits.h where one fits, so systemd (`RestartPreventExitStatus`) and scripts
can tell "fix the setup" from "try again later".
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_CRASH = 1  # a bug: the log holds the traceback
EXIT_USAGE = 2  # the command line: arguments, record id, filter, a question nobody can answer
EXIT_STARTUP = 3  # the CRM or a network refused the bridge: credentials, CRM schema
EXIT_RECORDS = 4  # the command ran, but some records failed; each is named with its reason
EXIT_UNAVAILABLE = 69  # EX_UNAVAILABLE: the CRM or a network cannot be reached now (worth retrying)
EXIT_CANTCREAT = 73  # EX_CANTCREAT: the state file or the log file cannot be created or written
EXIT_TEMPFAIL = 75  # EX_TEMPFAIL: busy: another bridge runs on this state file, or the port is taken
EXIT_CONFIG = 78  # EX_CONFIG: the configuration file (or environment) is wrong

#: (code, meaning) in the order of the README table.
TABLE: tuple[tuple[int, str], ...] = (
    (EXIT_OK, "done"),
    (EXIT_CRASH, "a bug in the bridge; the log has the details"),
    (EXIT_USAGE, "wrong command line: arguments, record id, filter field, --yes needed without a terminal"),
    (EXIT_STARTUP, "the CRM or a network refused the bridge: access key, token, group id, CRM fields"),
    (EXIT_RECORDS, "the command ran but some records failed; each is listed with the reason"),
    (EXIT_UNAVAILABLE, "the CRM or a network cannot be reached now"),
    (EXIT_CANTCREAT, "the state file or the log file cannot be created or written"),
    (EXIT_TEMPFAIL, "another bridge already runs on this state file, or the webhook port is in use"),
    (EXIT_CONFIG, "the configuration is invalid"),
)


class Failure(Exception):
    """A failure the user can fix, explained in one line; the command prints it and exits with `code`."""

    def __init__(self, code: int, line: str) -> None:
        super().__init__(line)
        self.code = code
        self.line = line

    def __str__(self) -> str:
        return self.line
