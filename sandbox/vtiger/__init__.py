"""A high-fidelity HTTP double of vtiger's webservice.php (SalesPlatform 7.2 or upstream vtiger 7).

    with VtigerSandbox(profile="salesplatform-7.2") as crm:    # or "vtiger-7"; fb_url=True for 6.x upgrades
        crm.url, crm.username, crm.access_key                    # endpoint: crm.url + "/webservice.php"
        crm.seed("Contacts", {"lastname": "Petrov"}) -> "12x2"   # direct insert, no HTTP
        crm.get(id) / crm.records(module) / crm.related(id)      # as `retrieve` shows it; live rows; links
        crm.add_user("clerk", access_key="k") -> "19x5"
        crm.set_time(dt) / crm.advance(s) / crm.clock()          # clock: times, token TTL, GC
        crm.expire_sessions() / crm.expire_sessions(on_next="query")
        crm.faults.http_error(operation="query", times=3)        # sandbox._http.Faults; vtiger op names
        crm.fail("create", "DATABASE_QUERY_ERROR", "...")         # an error envelope for the next call(s)
        crm.workflow_error("create") / crm.drop_after("revise")   # the work is done, the answer is lost
        crm.count("query"), crm.requests
        crm.add_workflow("Contacts", task, test=conditions)       # runs inside the save (workflows.py):
        crm.ui_save("Contacts", fields[, id]) / crm.ui_mass_edit  #   webservice saves before the commit,
                                                                  #   web-UI saves after it

Module map: server (HTTP, routing, sessions on each call), operations (the operations and their
parameters), auth (tokens, sessions), records (CRUD), relations (related ops, sync), queryexec + vtql +
mysql (VTQL in its two layers), storage (rows and MySQL storage rules), schema (describe metadata from
sandbox/data/vtiger), profiles (version differences), workflows (workflow conditions and tasks),
transactions (saves not yet committed while their workflows run).
"""

from .latency import LatencyModel, RealisticVtigerSandbox  # a real server's timing: see latency.py
from .operations import OPERATIONS
from .server import DEFAULT_ACCESS_KEY, VtigerSandbox

__all__ = ["DEFAULT_ACCESS_KEY", "OPERATIONS", "LatencyModel", "RealisticVtigerSandbox", "VtigerSandbox"]
