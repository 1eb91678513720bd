"""What arrives from vtiger workflows: the signed webhook, its events, and what the bridge does with them."""
