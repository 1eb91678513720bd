"""The bridge between a vtiger CRM and its clients on social networks, in rooms by role.

    crm/       the only door into vtiger        services/  sending, importing, profiles, the URL index
    config/    the configuration                webhook/   what arrives from vtiger workflows
    store/     the state file, one class        daemon/    the long-running process
               per table                        cli/       the command line

docs/architecture.md draws the house: which room may import which, and the path of a send, an import and
a workflow event.
"""
