"""Users and Groups as the webservice shows them (VtigerActorOperation): every field of `describe Users` with
a fresh install's preferences, no `label`; groups in the install's language."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .storage import Store, User

USERS_PREFIX = 19
GROUPS_PREFIX = 20
CURRENCY_PREFIX = 21

# A new user's preferences as a fresh SalesPlatform 7.2 install stores them (retrieve of the admin, recorded).
USER_DEFAULTS: dict[str, str] = {
    "activity_view": "This Week",
    "lead_view": "Today",
    "hour_format": "24",
    "end_hour": "23:00",
    "start_hour": "00:00",
    "date_format": "dd-mm-yyyy",
    "time_zone": "Europe/Moscow",
    "currency_id": f"{CURRENCY_PREFIX}x1",
    "currency_grouping_pattern": "123456789",
    "currency_decimal_separator": ",",
    "currency_grouping_separator": "'",
    "currency_symbol_placement": "1.0$",
    "internal_mailer": "1",
    "theme": "alphagrey",
    "reminder_interval": "1 Minute",
    "no_of_currency_decimals": "2",
    "truncate_trailing_zeros": "1",
    "dayoftheweek": "Monday",
    "callduration": "5",
    "othereventduration": "5",
    "calendarsharedtype": "public",
    "default_record_view": "Summary",
    "leftpanelhide": "0",
    "defaulteventstatus": "Planned",
    "defaultactivitytype": "Call",
    "hidecompletedevents": "0",
    "defaultcalendarview": "MyCalendar",
}


def user_ws(store: Store, user: User) -> dict[str, str]:
    """A Users record as `retrieve` answers it (describe order, then `id`; no `label`)."""
    values = {f.name: USER_DEFAULTS.get(f.name, "") for f in store.schema.modules["Users"].data_fields}
    password = f"$2y$10${user.user_name:.<22}hashhashhashhashhashhashhashha"  # bcrypt-shaped, not a hash
    values.update(
        {
            "user_name": user.user_name,
            "is_admin": "on" if user.is_admin else "off",
            "user_password": password,
            "confirm_password": password,
            "first_name": user.first_name,
            "last_name": user.last_name,
            "email1": user.email,
            "status": user.status,
            "accesskey": user.access_key,
            "is_owner": "1" if user.id == 1 else "0",
            "language": store.profile.language,
        }
    )
    values["id"] = f"{USERS_PREFIX}x{user.id}"
    return values


def group_ws(store: Store, gid: int) -> dict[str, str]:
    """A group as `retrieve` answers it; a query picks `id`, `groupname`, `description` (describe's order)."""
    name, description = store.groups[gid]
    return {
        "groupid": str(gid),
        "groupname": name,
        "description": description,
        "id": f"{GROUPS_PREFIX}x{gid}",
    }
