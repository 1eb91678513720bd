"""Version profiles: which real server the sandbox imitates.

`salesplatform-7.2` reproduces the recorded SalesPlatform 7.2.0-202008 install (Russian, MariaDB with 3-byte
utf8, the missing-tags-method bug); `vtiger-7` is upstream vtiger 7.x where those bugs do not exist.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Profile:
    name: str
    vtiger_version: str
    language: str  # suffix of the describe/listtypes data files
    # SalesPlatform's VtigerModuleOperation::query() calls a tag method that does not exist: PHP fatal.
    tags_query_fatal: bool
    # HTTP_Session2::useCookies(false) on an active session throws on PHP >= 7.2 in SalesPlatform.
    logout_broken: bool
    # sync's handler takes 4 args but only 2 are registered: ArgumentCountError on PHP >= 7.1.
    sync_broken: bool
    # MySQL `utf8` (3 bytes): characters outside the BMP are stored as '?'.
    utf8_3byte: bool
    database_error: str
    duplicates_message: str
    autonumber_prefixes: dict[str, str]
    admin_last_name: str  # the installer's "Administrator", in the install's language
    groups: dict[int, tuple[str, str]]  # the install's groups: id -> (name, description)


_DB_ERROR_EN = "Database error while performing requested operation"

PROFILES: dict[str, Profile] = {
    "salesplatform-7.2": Profile(
        name="salesplatform-7.2",
        vtiger_version="7.2.0-202008",
        language="ru_ru",
        tags_query_fatal=True,
        logout_broken=True,
        sync_broken=True,
        utf8_3byte=True,
        database_error="Ошибка базы данных при выполнении операции",
        duplicates_message="Обнаружено дублирование!",
        autonumber_prefixes={"Contacts": "КОНТАКТ_", "Accounts": "КОНТР_", "Leads": "ОБР_"},
        admin_last_name="Администратор",
        groups={
            2: ("Отдел Продаж", "Группа менеджеров по Продажам"),
            3: ("Отдел Маркетинга", "Группа менеджеров по Маркетингу"),
            4: ("Отдел Поддержки", "Группа сервисной поддержки Клиентов"),
        },
    ),
    "vtiger-7": Profile(
        name="vtiger-7",
        vtiger_version="7.1.0",
        language="en_us",
        tags_query_fatal=False,
        logout_broken=False,
        sync_broken=False,
        utf8_3byte=False,
        database_error=_DB_ERROR_EN,
        duplicates_message="Duplicate(s) detected!",
        autonumber_prefixes={"Contacts": "CON", "Accounts": "ACC", "Leads": "LEA"},
        admin_last_name="Administrator",
        groups={
            2: ("Team Selling", "Group Related to Sales"),
            3: ("Marketing Group", "Group Related to Marketing Activities"),
            4: ("Support Group", "Group Related to providing Support to Customers"),
        },
    ),
}


def get_profile(name: str) -> Profile:
    try:
        return PROFILES[name]
    except KeyError:
        raise ValueError(f"unknown vtiger sandbox profile {name!r}; known: {sorted(PROFILES)}") from None
