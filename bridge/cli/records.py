"""The record commands: `send`, `import-profile`, `backfill-profiles`.

Each prints what this run did (never older work from the state file), shows live progress on a terminal,
and ends by naming every record that failed and why; a run where any record failed exits 4.
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
from collections.abc import Callable

from bridge.cli.args import checked_filter, record_id
from bridge.cli.commands import connect
from bridge.cli.terminal import Progress, ask_yes
from bridge.config import Config
from bridge.crm import VtigerAccessDenied
from bridge.daemon.wiring import Parts
from bridge.exits import EXIT_OK, EXIT_RECORDS, EXIT_USAGE, Failure
from bridge.services.outbox_workers import OutboxWorkers, running
from bridge.services.profiles import CHANGED_MARGIN
from bridge.services.sending import SendRefused, SendRequest
from bridge.store import OutboxSend, TargetState

CONFIRM_ABOVE = 50
LIST_AT_MOST = 50  # failures listed one by one at the end; the rest are counted


def _missing(record: str, config: Config) -> str:
    return (
        f"no record {record} in the CRM: it never existed, was deleted, or user "
        f"{config.vtiger.username!r} may not see it"
    )


def _targets(parts: Parts, args: argparse.Namespace) -> list[str]:
    if args.record_id:
        return [record_id(parts.crm, args.record_id, args.module)]
    module = args.module or "Contacts"
    where = checked_filter(parts.crm, module, args.where)
    return list(parts.crm.record_ids(module, where=where))


def cmd_send(config: Config, args: argparse.Namespace, *, ask: Callable[[str], str] | None = None) -> int:
    ask = ask or input  # looked up now, so a replaced builtins.input (tests) is honoured
    networks = tuple(n.strip() for n in args.network.split(",")) if args.network else None
    parts = connect(config)
    try:
        records = _targets(parts, args)
        if not records:
            print("no record matches")
            return EXIT_OK
        if (
            len(records) > CONFIRM_ABOVE
            and not args.yes
            and not ask_yes(
                f"Send this message to {len(records)} records (one message record each)? [y/N] ", ask
            )
        ):
            print("nothing sent")
            return EXIT_OK
        single = args.record_id is not None
        progress = Progress()
        queued: list[int] = []
        refused: list[tuple[str, str]] = []
        # The daemon's outbox workers: each send goes out at its network's pace while the next records
        # are still being queued.
        jobs = config.jobs
        with running(
            parts.sender,
            sweep_seconds=jobs.outbox_interval_seconds,
            grace_seconds=jobs.shutdown_grace_seconds,
        ) as workers:
            for n, record in enumerate(records, start=1):
                try:
                    request = SendRequest(record, args.text, networks, requested_by="cli")
                    queued.append(parts.sender.enqueue(request))
                except SendRefused as exc:
                    refused.append((record, str(exc)))
                except VtigerAccessDenied:  # vtiger's answer for a record that does not exist
                    if single:
                        raise Failure(EXIT_USAGE, _missing(record, config)) from None
                    refused.append((record, _missing(record, config)))
                progress.show(f"queued {len(queued)} of {len(records)}, {len(refused)} refused ({n} read)")
            _deliver(parts, workers, queued, progress)
        progress.done()
        sends = [s for s in (parts.store.outbox.get_send(i) for i in queued) if s is not None]
        return _report_sends(sends, refused, verbose=len(sends) <= 20)
    finally:
        parts.close()


def _deliver(parts: Parts, workers: OutboxWorkers, queued: list[int], progress: Progress) -> None:
    """Wait until nothing can go out now; what must wait for a later attempt is left to the daemon."""
    mine = set(queued)
    drained = False
    while not drained:
        drained = workers.drain(timeout=0.5)
        finished = sum(1 for i in mine if (s := parts.store.outbox.get_send(i)) is not None and s.done_at)
        progress.show(f"delivered {finished} of {len(mine)}")


def _report_sends(sends: list[OutboxSend], refused: list[tuple[str, str]], *, verbose: bool) -> int:
    failed: list[tuple[str, str]] = [(record, f"refused: {why}") for record, why in refused]
    waiting = 0
    for send in sends:
        states = ", ".join(
            f"{t.network}: {t.state}" + (f" ({t.error_text})" if t.error_text else "") for t in send.targets
        )
        if verbose:
            print(f"send {send.id} to {send.record_id}: {states}")
        for t in send.targets:
            if t.state is TargetState.FAILED:
                failed.append((send.record_id, f"{t.network}: {t.error_text or t.error_code}"))
            elif t.state is not TargetState.SENT:
                waiting += 1
    sent = sum(1 for s in sends for t in s.targets if t.state is TargetState.SENT)
    print(f"{sent} delivered, {waiting} waiting for a retry (the daemon retries them), {len(failed)} failed")
    _list_failures(failed)
    return EXIT_RECORDS if failed else EXIT_OK


def _list_failures(failed: list[tuple[str, str]]) -> None:
    if failed:
        print("failed:")
    for record, why in failed[:LIST_AT_MOST]:
        print(f"  {record}: {why}")
    if len(failed) > LIST_AT_MOST:
        print(f"  ... and {len(failed) - LIST_AT_MOST} more")


def cmd_import_profile(config: Config, args: argparse.Namespace) -> int:
    parts = connect(config)
    try:
        record = record_id(parts.crm, args.record_id, args.module)
        try:
            report = parts.profiles.import_record(record, url=args.url, dry_run=args.dry_run)
        except VtigerAccessDenied:
            raise Failure(EXIT_USAGE, _missing(record, config)) from None
    finally:
        parts.close()
    verb = "would write" if args.dry_run else "wrote"
    for field, value in report.written.items():
        print(f"{verb} {field} = {value}")
    if not report.written:
        print("no field written" + (" (nothing empty to fill)" if report.skipped_filled else ""))
    for field in report.skipped_filled:
        print(f"kept {field} (already filled in the CRM)")
    for error in report.errors:
        print(f"error: {error}")
    return EXIT_RECORDS if report.errors else EXIT_OK


def cmd_backfill(config: Config, args: argparse.Namespace) -> int:
    """Profiles for many records, in chunks; the last finished id is kept so a rerun resumes.

    One walk reads the records with every field the import needs (100 per request, in id order); each
    chunk's profiles are fetched in the networks' largest batches, and only that chunk's records to write
    are read again before writing (`ProfileImporter.import_records`).
    """
    if args.chunk < 1:
        raise Failure(EXIT_USAGE, f"--chunk {args.chunk}: give at least 1 record per batch")
    parts = connect(config)
    key = f"backfill.{args.module}.{args.where or ''}"
    progress = Progress()
    counts = {"done": 0, "written": 0, "no_link": 0}
    failed: list[tuple[str, str]] = []
    try:
        last = None if args.restart else parts.store.kv.get(key)
        base = checked_filter(parts.crm, args.module, args.where) if args.where else None
        columns = parts.profiles.columns(args.module)
        walk = parts.crm.records(args.module, columns, where=base, after=last)
        while True:
            before = counts["done"]
            progress.show(f"{before} records done; reading the next {args.chunk}")
            read_since = dt.datetime.now(dt.UTC) - CHANGED_MARGIN
            chunk = list(itertools.islice(walk, args.chunk))
            if not chunk:
                break
            progress.show(f"{before} records done; fetching the profiles of the next {len(chunk)}")

            def step(done: int, total: int | None, before: int = before) -> None:
                progress.show(
                    f"{before + done} records done, {counts['written']} filled, {len(failed)} failed"
                )

            reports = parts.profiles.import_records(
                args.module, chunk, read_since=read_since, dry_run=args.dry_run, progress=step
            )
            for report in reports:
                counts["done"] += 1
                counts["written"] += bool(report.written)
                if report.no_link:
                    counts["no_link"] += 1
                elif report.errors:
                    failed.append((report.record_id, "; ".join(report.errors)))
            last = parts.crm.id_of(chunk[-1])
            if not args.dry_run:
                parts.store.kv.set(key, last)
        progress.done()
        verb = "would be filled" if args.dry_run else "filled"
        print(
            f"{counts['done']} records: {counts['written']} {verb}, {counts['no_link']} without a social "
            f"link, {len(failed)} failed"
        )
        _list_failures(failed)
        if not args.dry_run:
            parts.store.kv.delete(key)
        return EXIT_RECORDS if failed else EXIT_OK
    finally:
        progress.done()
        parts.close()
