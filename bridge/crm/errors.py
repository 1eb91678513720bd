"""The CRM's errors, as the rest of the bridge may catch them: `vtiger_ws`'s classes, passed through the
door so that nothing outside `bridge/crm/` imports `vtiger_ws` (the tree is drawn in vtiger_ws/errors.py).
"""

from vtiger_ws import (
    VtigerAccessDenied,
    VtigerAuthError,
    VtigerConnectionError,
    VtigerCredentialsError,
    VtigerError,
    VtigerProtocolError,
)


def answered(exc: BaseException) -> bool:
    """vtiger answered the request with an error of its own, so nothing was written."""
    return isinstance(exc, VtigerError) and not isinstance(exc, VtigerConnectionError | VtigerProtocolError)


__all__ = [
    "VtigerAccessDenied",
    "VtigerAuthError",
    "VtigerConnectionError",
    "VtigerCredentialsError",
    "VtigerError",
    "VtigerProtocolError",
    "answered",
]
