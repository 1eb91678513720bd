"""Saves made as a person makes them in vtiger's web UI: log in with the form, open the record's edit page,
change fields and post the whole form (module=...&action=Save, with the CSRF token) as the browser does.

Unlike a webservice save, this runs no database transaction around the workflows (issue 9, defect 1), so
the two kinds of save are worth testing separately.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import parse_qs, urlparse

from .realenv import REPO, RealEnvError, RealVtiger

sys.path.insert(0, str(REPO / "tools" / "real-vtiger"))
from webform import Browser, FormError  # tools/real-vtiger/ is no package: found through sys.path

__all__ = ["FormError", "WebUi"]


def crmid(record: str) -> str:
    """'12x34' or '34' -> '34'."""
    return record.split("x", 1)[-1]


class WebUi:
    def __init__(self, real: RealVtiger, log_dir: Path) -> None:
        if not real.password:
            raise RealEnvError("real-CRM suite: VSB_REAL_VTIGER_PASSWORD is needed for web-UI saves")
        self.real = real
        self.log_dir = log_dir
        self.browser = Browser(real.url, log_dir)

    def login(self) -> None:
        b = self.browser
        # A cookie of a session the CRM no longer has (a reset restored its database) makes vtiger 8's
        # login page fail (HTTP 500, Users::get() in Header.tpl): a person's browser would start afresh.
        b.session.cookies.clear()
        b.get("index.php", "login page", module="Users", view="Login")
        form = b.form("login page", field=("action", "Login"))
        b.submit(form, "login", {"username": self.real.user, "password": self.real.password})
        if "view=Login" in b.url or "error=login" in b.url:
            b.fail("login", f"vtiger refused {self.real.user}'s password")

    def logged_out(self) -> bool:
        """vtiger answers a request of an ended session (e.g. after a reset) with its login page."""
        b = self.browser
        return "view=Login" in b.url or 'view: "Login"' in b.page

    def get(self, step: str, **params: str) -> None:
        """A page of index.php; when the session ran out, log in again first, as a person would."""
        self.browser.get("index.php", step, **params)
        if self.logged_out():
            self.login()
            self.browser.get("index.php", step, **params)

    def save(self, module: str, fields: Mapping[str, str], record: str | None = None) -> str:
        """Create (record=None) or edit a record through its edit form; returns the record's crmid."""
        b = self.browser
        params = {"module": module, "view": "Edit"}
        if record:
            params["record"] = crmid(record)
        self.get(f"edit {module}", **params)
        form = b.form(f"edit {module}", name="EditView")
        unknown = [name for name in fields if name not in form.values()]
        if unknown:
            b.fail(f"edit {module}", f"the edit form has no field {', '.join(unknown)}")
        b.submit(form, f"save {module}", dict(fields))
        saved = parse_qs(urlparse(b.url).query).get("record", [""])[0]
        if not saved or "view=Detail" not in b.url:
            match = re.search(r'id="recordId" value="(\d+)"', b.page)
            if not match:
                b.fail(f"save {module}", f"the save did not land on the record's page ({b.url})")
            saved = match.group(1) if match else ""
        return saved
