"""Does the CRM show the save a workflow event is about? Until it does, the event waits.

vtiger runs workflows inside the save: for a webservice create/update/revise that is inside the request's
open database transaction, so until the commit every other reader (the bridge included) sees the record as
it was, and a record being created is not there at all (ACCESS_DENIED). The plugin posts after the request
is over, but an event can still arrive early (an older plugin, a spool flushed by another request while a
save is running, a Cloud webhook). So the bridge compares what it reads with the event: the record's
`modifiedtime` must be at least the event's; at the same second, the fields the bridge acts on must hold
the event's values (vtiger's times have one-second resolution, and the save before may share that second).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from bridge.crm import Crm
from bridge.crm.values import same_value
from bridge.webhook.events import Event

VISIBILITY_WINDOW_SECONDS = 600.0  # how long an event may wait for its save to show
RETRY_DELAYS_SECONDS = (2.0, 5.0, 10.0, 20.0, 30.0)  # then every 60 s until the window is over
LATER_DELAY_SECONDS = 60.0


class NotVisibleYet(Exception):
    """The CRM does not show the saved state yet; `missing`: it does not show the record at all."""

    def __init__(self, message: str, *, missing: bool) -> None:
        super().__init__(message)
        self.missing = missing


def check_saved_state(
    event: Event, record: Mapping[str, object] | None, fields: Iterable[str]
) -> Mapping[str, object]:
    """`record` if it shows the save `event` is about; raises NotVisibleYet otherwise.

    `fields`: the fields the bridge acts on whose values are compared when the times are equal (leave out
    fields the bridge itself wrote since: its own write may have replaced the saved value).
    """
    if record is None:
        raise NotVisibleYet(
            f"the CRM does not show record {event.record_id} (ACCESS_DENIED): not committed yet, or deleted",
            missing=True,
        )
    saved_at = event.modifiedtime
    if saved_at is None:
        return record  # an event without a time (e.g. a Cloud webhook): the current state is all there is
    shown = Crm.modified_at(record)
    if shown > saved_at:
        return record
    if shown < saved_at:
        raise NotVisibleYet(
            f"the CRM still shows record {event.record_id} as of {shown}, before the save of {saved_at}",
            missing=False,
        )
    for name in fields:
        if name in event.data and not same_value(event.data[name], record.get(name)):
            raise NotVisibleYet(
                f"the CRM shows record {event.record_id} at {shown} without this save's value of {name}",
                missing=False,
            )
    return record


def retry_delay(attempts: int) -> float:
    """Seconds until the next try of an event already put off `attempts` times."""
    return RETRY_DELAYS_SECONDS[attempts] if attempts < len(RETRY_DELAYS_SECONDS) else LATER_DELAY_SECONDS
