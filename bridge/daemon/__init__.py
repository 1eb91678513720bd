"""The long-running daemon: start-up, wiring, scheduled jobs, health, metrics, reload, stop."""
