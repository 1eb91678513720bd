"""A high-fidelity HTTP double of vtiger's webservice.php (SalesPlatform 7.2 or upstream vtiger 7)."""

from .server import DEFAULT_ACCESS_KEY, OPERATIONS, VtigerSandbox

__all__ = ["DEFAULT_ACCESS_KEY", "OPERATIONS", "VtigerSandbox"]
