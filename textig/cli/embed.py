"""`textig embed`: placeholder until its issue lands."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `embed` subcommand."""
    parser = subparsers.add_parser("embed", help="(not yet implemented)")
    parser.set_defaults(func=lambda args: parser.error("not implemented yet"))
