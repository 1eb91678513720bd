"""The only door into vtiger: everything the bridge asks of the CRM goes through `Crm`."""
