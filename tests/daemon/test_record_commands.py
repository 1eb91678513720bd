"""`send`, `import-profile` and `backfill-profiles` as an administrator runs them: output about this run
only, live progress on a terminal, and at the end every record that failed with its reason."""

from __future__ import annotations

import datetime as dt
import os
import pty
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from bridge import exits
from bridge.cli.main import main
from sandbox.vk import VkSandbox
from sandbox.vtiger import VtigerSandbox
from tests.daemon.helpers import write_config

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def world() -> Iterator[tuple[VtigerSandbox, VkSandbox]]:
    with VtigerSandbox() as crm, VkSandbox() as vk:
        yield crm, vk


def on_a_terminal(*args: str) -> tuple[int, str]:
    """Run the CLI with its output on a pseudo-terminal, as an administrator sees it."""
    leader, follower = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "run_bridge.py", *args],
        cwd=ROOT,
        stdout=follower,
        stderr=follower,
        stdin=subprocess.DEVNULL,
    )
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # EIO: the other side is closed
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(leader)
    return proc.wait(timeout=120), b"".join(chunks).decode("utf-8", "replace")


def test_send_reports_this_runs_sends_only(
    world: tuple[VtigerSandbox, VkSandbox], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    crm, vk = world
    vk.add_user("Earlier", "Client", screen_name="earlier_client")
    earlier = crm.seed("Contacts", {"lastname": "Client", "vk_url": "https://vk.com/earlier_client"})
    nolink = crm.seed("Contacts", {"lastname": "Nolink"})
    config = str(write_config(tmp_path, crm, vk))
    assert main(["-c", config, "send", earlier, "--text", "an earlier send"]) == exits.EXIT_OK
    capsys.readouterr()
    assert main(["-c", config, "send", nolink, "--text", "refused"]) == exits.EXIT_RECORDS
    out = capsys.readouterr().out
    assert earlier not in out and "vk: sent" not in out  # the earlier run's send is not this run's
    assert f"{nolink}: refused: record {nolink} (Contacts) has no social link" in out
    assert "0 delivered, 0 waiting for a retry (the daemon retries them), 1 failed" in out


def test_send_to_a_filter_names_each_failed_record_and_why(
    world: tuple[VtigerSandbox, VkSandbox], tmp_path: Path
) -> None:
    crm, vk = world
    for n in range(3):
        vk.add_user(f"Ok{n}", "Client", screen_name=f"ok_client_{n}")
        crm.seed(
            "Contacts",
            {"lastname": "Client", "mailingcity": "Псков", "vk_url": f"https://vk.com/ok_client_{n}"},
        )
    vk.add_user("Closed", "Client", screen_name="closed_client", allows_messages=False)
    closed = crm.seed(
        "Contacts", {"lastname": "Closed", "mailingcity": "Псков", "vk_url": "https://vk.com/closed_client"}
    )
    code, out = on_a_terminal(
        "-c",
        str(write_config(tmp_path, crm, vk)),
        "send",
        "--where",
        "mailingcity = 'Псков'",
        "--text",
        "hello",
    )
    assert code == exits.EXIT_RECORDS, out
    assert "\rqueued 4 of 4, 0 refused (4 read)" in out  # live progress, one rewritten line
    assert "\rdelivered " in out
    assert "3 delivered, 0 waiting for a retry (the daemon retries them), 1 failed" in out
    assert f"  {closed}: vk: VK does not allow this community to message this person" in out


def test_backfill_shows_progress_per_batch_and_lists_failures_at_the_end(
    world: tuple[VtigerSandbox, VkSandbox], tmp_path: Path
) -> None:
    crm, vk = world
    for n in range(5):
        vk.add_user(f"Fill{n}", "Client", screen_name=f"fill_{n}", city="Тула")
        crm.seed("Contacts", {"lastname": "Client", "vk_url": f"https://vk.com/fill_{n}"})
    gone = crm.seed("Contacts", {"lastname": "Gone", "vk_url": "https://vk.com/nobody_has_this_name"})
    crm.seed("Contacts", {"lastname": "Nolink"})
    code, out = on_a_terminal("-c", str(write_config(tmp_path, crm, vk)), "backfill-profiles", "--chunk", "3")
    assert code == exits.EXIT_RECORDS, out
    assert "\r0 records done; reading the next 3" in out and "\r3 records done; reading the next 3" in out
    assert "7 records: 5 filled, 1 without a social link, 1 failed" in out
    assert f"  {gone}: vk: no account behind 'https://vk.com/nobody_has_this_name'" in out


def test_without_a_terminal_there_is_no_progress_line(
    world: tuple[VtigerSandbox, VkSandbox], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    crm, vk = world
    vk.add_user("Quiet", "Client", screen_name="quiet_client", city="Орёл")
    crm.seed("Contacts", {"lastname": "Client", "vk_url": "https://vk.com/quiet_client"})
    assert main(["-c", str(write_config(tmp_path, crm, vk)), "backfill-profiles"]) == exits.EXIT_OK
    out = capsys.readouterr().out
    assert "\r" not in out
    assert out.splitlines()[-1] == "1 records: 1 filled, 0 without a social link, 0 failed"


def test_backfill_reads_each_record_once_and_fetches_profiles_in_the_networks_batches(
    world: tuple[VtigerSandbox, VkSandbox], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Issue 14 §4: measured on a real SalesPlatform, a backfill of 3,000 Contacts read 78 pages and made 6 VK
    # requests: 1,000-record chunks, their ids listed in a walk of their own, and a re-read of every record
    # of the module saved since the start. Now: one walk (pages of 100 + the empty last one), one re-read of
    # the records about to be written, and one resolve + one fetch for the whole run.
    crm, vk = world
    vk.add_users(300, screen_prefix="many_")
    now = dt.datetime.now(dt.UTC)
    crm.set_time(now - dt.timedelta(hours=1))  # saved an hour ago, as most of a CRM is
    for n in range(300):
        crm.seed("Contacts", {"lastname": f"Many{n}", "vk_url": f"https://vk.com/many_{n}"})
    crm.set_time(now)
    for n in range(150):  # saved just now, outside the filter: none of the backfill's business
        crm.seed("Contacts", {"lastname": f"Other{n}"})
    config = str(write_config(tmp_path, crm, vk))
    crm.reset_log()
    vk.reset_log()
    assert main(["-c", config, "backfill-profiles", "--where", "lastname LIKE 'Many%'"]) == exits.EXIT_OK
    assert (
        capsys.readouterr().out.splitlines()[-1]
        == "300 records: 300 filled, 0 without a social link, 0 failed"
    )
    contacts = [r.arg("query") or "" for r in crm.requests if "FROM Contacts" in (r.arg("query") or "")]
    walk = [q for q in contacts if "modifiedtime >" not in q]
    assert len(walk) == 4, walk  # 3 pages of 100 and the empty one that ends the walk
    assert len(contacts) - len(walk) == 1  # the re-read of the 300 to write: none saved since the walk
    assert vk.count() == 2, vk.counters


def test_backfill_refuses_a_chunk_below_one_and_touches_nothing(
    world: tuple[VtigerSandbox, VkSandbox], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    crm, vk = world
    config = str(write_config(tmp_path, crm, vk))
    crm.reset_log()
    assert main(["-c", config, "backfill-profiles", "--chunk", "0"]) == exits.EXIT_USAGE
    assert "--chunk 0: give at least 1 record per batch" in capsys.readouterr().err
    assert crm.count() == 0
