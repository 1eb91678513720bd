"""A browser without a browser: one cookie jar, forms read from the page and submitted as they are.

Each form is read with its hidden fields (including the CSRF token `__vtrftk` that vtiger's csrf-magic
writes into every POST form), checked boxes and selected options; the caller overrides the fields a person
would fill, and the form goes to its action with the page as Referer. Used by install_web.py and by the
real-CRM suite's web-UI saves (tests/real_crm/).
"""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin

import requests


class Form:
    def __init__(self, attrs: dict[str, str]) -> None:
        self.attrs = attrs
        self.fields: list[tuple[str, str]] = []
        self.selects: dict[str, list[tuple[str, bool]]] = {}
        self.checkboxes: set[str] = set()  # every checkbox, checked or not

    @property
    def action(self) -> str:
        return self.attrs.get("action") or "index.php"

    @property
    def method(self) -> str:
        return (self.attrs.get("method") or "get").lower()

    def values(self) -> dict[str, str]:
        data = dict(self.fields)
        for name, options in self.selects.items():
            chosen = [v for v, selected in options if selected] or [v for v, _ in options[:1]]
            if chosen:
                data[name] = chosen[0]
        return data

    def options(self, name: str) -> list[str]:
        return [v for v, _ in self.selects.get(name, [])]


class FormParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[Form] = []
        self._form: Form | None = None
        self._select: str | None = None
        self._option: tuple[str | None, bool] | None = None
        self._text = ""

    def handle_starttag(self, tag: str, attrs_list: list[tuple[str, str | None]]) -> None:
        attrs = {k: v or "" for k, v in attrs_list}
        if tag == "form":
            self._form = Form(attrs)
            self.forms.append(self._form)
            return
        if self._form is None:
            return
        if tag == "input" and attrs.get("name"):
            kind = attrs.get("type", "text").lower()
            if kind in ("button", "submit", "image", "reset", "file"):
                return
            if kind == "checkbox":
                self._form.checkboxes.add(attrs["name"])
            if kind in ("checkbox", "radio") and "checked" not in attrs:
                return
            self._form.fields.append((attrs["name"], attrs.get("value", "on" if kind == "checkbox" else "")))
        elif tag == "select" and attrs.get("name"):
            self._select = attrs["name"]
            self._form.selects.setdefault(self._select, [])
        elif tag == "option" and self._select is not None:
            self._finish_option()
            self._option = (attrs.get("value"), "selected" in attrs)
            self._text = ""
        elif tag == "textarea" and attrs.get("name"):
            self._form.fields.append((attrs["name"], ""))

    def handle_data(self, data: str) -> None:
        if self._option is not None:
            self._text += data

    def _finish_option(self) -> None:
        if self._option is not None and self._select is not None and self._form is not None:
            value, selected = self._option
            self._form.selects[self._select].append(
                (value if value is not None else self._text.strip(), selected)
            )
        self._option = None

    def handle_endtag(self, tag: str) -> None:
        if tag in ("option", "select"):
            self._finish_option()
            if tag == "select":
                self._select = None
        elif tag == "form":
            self._finish_option()
            self._form = None


class FormError(Exception):
    """A page was not what the step expected; the message names the step and where the page was saved."""


class Browser:
    def __init__(self, base: str, log_dir: Path) -> None:
        self.base = base.rstrip("/") + "/"
        self.session = requests.Session()
        self.session.headers["User-Agent"] = "Mozilla/5.0 (real-vtiger installer driver)"
        self.log_dir = log_dir
        self.page = ""
        self.url = self.base

    def _keep(self, response: requests.Response, step: str) -> None:
        self.page = response.text
        self.url = response.url
        if response.status_code >= 400:
            self.fail(step, f"HTTP {response.status_code} from {response.url}")

    def get(self, path: str, step: str, **params: str) -> None:
        response = self.session.get(urljoin(self.base, path), params=params, timeout=120)
        self._keep(response, step)

    def submit(self, form: Form, step: str, overrides: dict[str, str], timeout: float = 120) -> None:
        data = {**form.values(), **overrides}
        url = urljoin(self.url, form.action)
        headers = {"Referer": self.url}
        if form.method == "post" and "multipart" in form.attrs.get("enctype", ""):
            # As a browser sends a form with a file input: multipart, every field a part.
            parts = {name: (None, value) for name, value in data.items()}
            response = self.session.post(url, files=parts, headers=headers, timeout=timeout)
        elif form.method == "post":
            response = self.session.post(url, data=data, headers=headers, timeout=timeout)
        else:
            response = self.session.get(url, params=data, headers=headers, timeout=timeout)
        self._keep(response, step)

    def form(
        self,
        step: str,
        *,
        name: str | None = None,
        field: tuple[str, str] | None = None,
        action_has: str | None = None,
    ) -> Form:
        parser = FormParser()
        parser.feed(self.page)
        for form in parser.forms:
            if name is not None and form.attrs.get("name") != name and form.attrs.get("id") != name:
                continue
            if field is not None and form.values().get(field[0]) != field[1]:
                continue
            if action_has is not None and action_has not in form.action:
                continue
            return form
        self.fail(step, f"the page {self.url} has no form {name or field or action_has}")
        raise AssertionError  # unreachable

    def fail(self, step: str, why: str) -> None:
        saved = self.log_dir / f"install-failed-{step.replace(' ', '-')}.html"
        saved.write_text(self.page, encoding="utf-8")
        raise FormError(f"{step}: {why} (page saved to {saved})")
