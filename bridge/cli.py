"""Command line of the bridge (`python run_bridge.py <command>`)."""

from __future__ import annotations

import argparse


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="run_bridge.py",
        description="vtiger social bridge: connects a vtiger CRM to VK, X and Facebook.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.add_parser("demo", help="run a narrated scenario against built-in sandboxes (no CRM needed)")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    if args.command == "demo":
        from bridge.demo import run_demo

        return run_demo()
    parser.error(f"unknown command {args.command!r}")
    return 2
