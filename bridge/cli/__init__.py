"""The command line: `vtiger-social-bridge <command>` (`bridge.cli.main`) and each command's body."""
