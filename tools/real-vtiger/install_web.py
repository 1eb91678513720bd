"""Drive vtiger's web installer and its first-login wizard over HTTP, as a browser would.

No browser: each page is fetched with one cookie jar, its form is read (hidden fields, the CSRF token
`__vtrftk` that csrf-magic writes into every POST form, the selected options), the fields an administrator
would fill are set, and the form is submitted to its action. Run by `real-vtiger install`; it prints one
line per step and exits 1 with one line (and the page saved next to the log) when a step goes wrong.

Steps (modules/Install/views/Index.php and modules/Users/views/{SystemSetup,UserSetup}.php of the source):
language -> licence -> pre-install check -> database, admin and locale -> confirmation -> industry ->
installation (Step7, minutes) -> login -> module packages ("select all") -> the admin's preferences.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import requests
from webform import Browser, Form
from webform import FormError as InstallError


def step(text: str) -> None:
    print(f"  {time.strftime('%H:%M:%S')} {text}", flush=True)


def pick(form: Form, name: str, wanted: str, b: Browser, what: str) -> str:
    options = form.options(name)
    if wanted not in options:
        b.fail(what, f"'{wanted}' is not offered for {name} ({len(options)} options)")
    return wanted


def run_installer(b: Browser, a: argparse.Namespace) -> None:
    b.get("index.php", "start", module="Install", view="Index")
    f = b.form("language", field=("mode", "Step2"))
    b.submit(f, "language", {"lang": a.language})
    step(f"language {a.language}; licence")
    b.submit(b.form("licence", field=("mode", "Step3")), "licence", {})
    step("pre-install check")
    b.submit(b.form("pre-install check", field=("mode", "Step4")), "pre-install check", {})
    f = b.form("settings", field=("mode", "Step5"))
    fields = {
        "db_hostname": a.db_host,
        "db_username": a.db_user,
        "db_password": a.db_password,
        "db_name": a.db_name,
        "password": a.admin_password,
        "retype_password": a.admin_password,
        "admin_email": a.admin_email,
        "currency_name": pick(f, "currency_name", a.currency, b, "settings"),
        "timezone": pick(f, "timezone", a.timezone, b, "settings"),
        "dateformat": pick(f, "dateformat", a.date_format, b, "settings"),
    }
    if "lastname" in f.values() and not f.values()["lastname"]:
        fields["lastname"] = "Administrator"
    step(f"database {a.db_name} on {a.db_host}, currency {a.currency}, time zone {a.timezone}")
    b.submit(f, "settings", fields)
    f = b.form("confirmation", field=("mode", "Step6"))
    if "error_msg" in b.page or "ERR_" in b.page:
        b.fail("confirmation", "the installer reports a database problem")
    step("confirmation; industry")
    b.submit(f, "confirmation", {})
    f = b.form("industry", field=("mode", "Step7"))
    industries = [o for o in f.options("industry") if o]
    step("installing (Step7: schema and modules; the longest part)")
    started = time.monotonic()
    b.submit(f, "install", {"industry": industries[0] if industries else ""}, timeout=1800)
    step(f"installed in {time.monotonic() - started:.0f} s; first login")
    f = b.form("login", name="step7")
    b.submit(f, "login", {"username": a.admin_user, "password": a.admin_password})


def run_first_login(b: Browser, a: argparse.Namespace) -> None:
    if "SystemSetup" in b.url:
        f = b.form("module packages", action_has="SystemSetupSave")
        packages = sorted(name for name in f.checkboxes | set(f.values()) if name.startswith("packages["))
        step(f"module packages: all {len(packages)} selected")
        b.submit(f, "module packages", dict.fromkeys(packages, "on"))
    if "UserSetup" not in b.url:
        b.get("index.php", "preferences", module="Users", parent="Settings", view="UserSetup")
    f = b.form("preferences", action_has="UserSetupSave")
    fields = {
        "lang_name": pick(f, "lang_name", a.language, b, "preferences"),
        "time_zone": pick(f, "time_zone", a.timezone, b, "preferences"),
        "date_format": pick(f, "date_format", a.date_format, b, "preferences"),
    }
    if "currency_name" in f.selects:
        fields["currency_name"] = pick(f, "currency_name", a.currency, b, "preferences")
    step(f"preferences: {a.language}, {a.timezone}, {a.date_format}")
    b.submit(f, "preferences", fields)
    b.get("index.php", "home")
    if "UserSetup" in b.url or "SystemSetup" in b.url or "Login" in b.url:
        b.fail("home", f"the first-login wizard did not finish (landed on {b.url})")


def check_webservice(url: str, user: str) -> None:
    answer = requests.get(
        f"{url}/webservice.php", params={"operation": "getchallenge", "username": user}, timeout=30
    ).json()
    if not answer.get("success"):
        raise InstallError(f"webservice getchallenge failed: {answer}")
    step("webservice answers")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--profile", required=True, choices=["salesplatform-7.2", "vtiger-7", "vtiger-8"])
    p.add_argument("--url", required=True)
    for name in (
        "db-host",
        "db-name",
        "db-user",
        "db-password",
        "admin-user",
        "admin-password",
        "admin-email",
        "language",
        "currency",
        "timezone",
        "date-format",
    ):
        p.add_argument(f"--{name}", required=True)
    p.add_argument("--log-dir", default=".")
    a = p.parse_args()
    b = Browser(a.url, Path(a.log_dir))
    started = time.monotonic()
    try:
        run_installer(b, a)
        run_first_login(b, a)
        check_webservice(a.url, a.admin_user)
    except InstallError as exc:
        print(f"install_web: {exc}", file=sys.stderr)
        return 1
    except requests.RequestException as exc:
        print(f"install_web: {a.url} did not answer: {exc}", file=sys.stderr)
        return 1
    step(f"done in {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
