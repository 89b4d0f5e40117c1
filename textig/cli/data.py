"""`textig data`: placeholder until its issue lands."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `data` subcommand."""
    parser = subparsers.add_parser("data", help="(not yet implemented)")
    parser.set_defaults(func=lambda args: parser.error("not implemented yet"))
