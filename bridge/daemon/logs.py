"""Logging set-up: text or one JSON object per line, and a filter that masks every configured secret."""

from __future__ import annotations

import json
import logging
import logging.handlers
import sys

from bridge.config.secrets import mask


class SecretFilter(logging.Filter):
    """Replace secret values in the final message (arguments included) before any handler sees it."""

    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        self.secrets = [s for s in secrets if s]

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask(message, self.secrets)
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = mask(logging.Formatter().formatException(record.exc_info), self.secrets)
            record.exc_info = None
        if masked != message or record.args:
            record.msg, record.args = masked, None
        return True


class _NoJobTraceback(logging.Filter):
    """Drops APScheduler's 'Job ... raised an exception' record (its traceback repeats ours)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.exc_info is None


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        payload = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_text:
            payload["exception"] = record.exc_text
        return json.dumps(payload, ensure_ascii=False)


def configure(
    level: str = "INFO", fmt: str = "text", file: str = "", secrets: list[str] | None = None
) -> None:
    # WatchedFileHandler reopens the file when logrotate has moved it away (no copytruncate needed, no
    # lines lost into the rotated file); under systemd the default, stderr, goes to the journal.
    handler: logging.Handler = (
        logging.handlers.WatchedFileHandler(file, encoding="utf-8")
        if file
        else logging.StreamHandler(sys.stderr)
    )
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(SecretFilter(secrets or []))
    root = logging.getLogger()
    for old in list(root.handlers):
        if getattr(old, "_vsb_owned", False):  # ours from an earlier call: its log file must not stay open
            root.removeHandler(old)
            old.close()
    handler._vsb_owned = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level)
    # Third-party loggers can print URLs with tokens at DEBUG: keep them quieter than ours.
    for noisy in ("urllib3", "requests_oauthlib", "oauthlib", "waitress"):
        logging.getLogger(noisy).setLevel(max(logging.INFO, logging.getLevelName(level)))
    # APScheduler says "Running job ..." / "executed successfully" for every run: WARNING and up only
    # (a missed run time stays visible). A job's exception is reported once, by `bridge.daemon.scheduler`
    # after the job's own clear line, so the executor's copy of the traceback is dropped.
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    executor = logging.getLogger("apscheduler.executors.default")
    if not any(isinstance(f, _NoJobTraceback) for f in executor.filters):
        executor.addFilter(_NoJobTraceback())
