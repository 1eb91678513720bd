"""`vtiger-social-bridge module-zip`: the vtiger module package to import in Settings -> Module Manager.

The zip is built from vtiger_plugin/ (bridge.cli.paths.plugin_dir), in the layout vtlib's package import
unpacks (vtlib/Vtiger/PackageImport.php of vtiger 7/8):

    manifest.xml                 vtiger_plugin/manifest.xml, with this bridge's version
    modules/SocialBridge/...     vtiger_plugin/ (the workflow functions, installer, record actions)
    languages/, settings/, layouts/   vtiger_plugin/package/ (texts, the settings page, templates, scripts)

Left out: a local socialbridge.config.php, logs and spools, the README. The version is the bridge's, so
the module and the bridge it signs events for come from one release.
"""

from __future__ import annotations

import datetime as dt
import zipfile
from pathlib import Path

from bridge.cli.paths import plugin_dir
from bridge.webhook.status import package_version

MODULE = "SocialBridge"
_SKIP_NAMES = frozenset({"socialbridge.config.php", "README.md", "manifest.xml", "__init__.py"})
_SKIP_SUFFIXES = (".log", ".spool", ".lock", ".tmp", ".pyc")
_ZIP_TIME = (2026, 1, 1, 0, 0, 0)  # fixed: the same sources give the same zip


def _files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


def _wanted(path: Path, source: Path) -> bool:
    rel = path.relative_to(source)
    if rel.parts[0] in ("package", "__pycache__") or path.name in _SKIP_NAMES:
        return False
    if rel.parts[0] == "logs" and path.name != ".htaccess":
        return False
    return not path.name.endswith(_SKIP_SUFFIXES)


def entries(source: Path | None = None, version: str | None = None) -> dict[str, bytes]:
    """Zip path -> content."""
    source = source or plugin_dir()
    version = version or package_version()
    manifest = (source / "manifest.xml").read_text(encoding="utf-8")
    manifest = manifest.replace("@VERSION@", version.split("+")[0]).replace(
        "@EXPORTTIME@", dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%S")
    )
    found: dict[str, bytes] = {"manifest.xml": manifest.encode("utf-8")}
    for path in _files(source):
        if _wanted(path, source):
            found[f"modules/{MODULE}/{path.relative_to(source).as_posix()}"] = path.read_bytes()
    package = source / "package"
    for path in _files(package):
        found[path.relative_to(package).as_posix()] = path.read_bytes()
    return found


def build(target: Path, source: Path | None = None, version: str | None = None) -> Path:
    """Write the zip (atomically: a half-written zip is never left under the target name)."""
    tmp = target.with_name(target.name + ".tmp")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in entries(source, version).items():
            info = zipfile.ZipInfo(name, date_time=_ZIP_TIME)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, content)
    tmp.replace(target)
    return target


def default_name(version: str | None = None) -> str:
    return f"{MODULE}-{(version or package_version()).split('+')[0]}.zip"
