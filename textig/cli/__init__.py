"""The ``textig`` command: argument parsing only; each subcommand lives in its own module.

Every subcommand module exposes ``register(subparsers)``, which adds its parser and sets
``func`` (called with the parsed namespace, returning an exit code).
"""

from __future__ import annotations

import argparse
import os
import sys
import warnings
from collections.abc import Sequence

from textig import __version__
from textig.errors import TextigError, UsageError


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Descriptions and epilogs as written; every option's help ends with its default."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        default = action.default
        if (
            "default" in text.lower()
            or default in (None, False, argparse.SUPPRESS, [])
            or not action.option_strings
        ):
            return text
        return f"{text} (default: %(default)s)".lstrip()


class _Parser(argparse.ArgumentParser):
    """textig's parsers (and their subcommands' parsers) all use ``HelpFormatter``."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs["formatter_class"] = HelpFormatter
        super().__init__(*args, **kwargs)


def _one_line_warning(message, category, filename, lineno, line=None) -> str:
    """Warnings as ``textig: warning: ...`` (no Python source line)."""
    return "textig: warning: " + " ".join(str(message).split()) + "\n"


_SUBCOMMANDS = ("data", "embed", "train", "evaluate", "explain", "compare", "serve", "corpus")


def build_parser() -> argparse.ArgumentParser:
    """Assemble the top-level parser from the subcommand modules."""
    from importlib import import_module

    parser = _Parser(
        prog="textig",
        description="Explain AnnexML caption labels with Integrated Gradients, down to words.",
    )
    parser.add_argument("--version", action="version", version=f"textig {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in _SUBCOMMANDS:
        import_module(f"textig.cli.{name}").register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; user errors become one line on stderr and exit code 1 (usage errors: 2)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    previous, warnings.formatwarning = warnings.formatwarning, _one_line_warning
    try:
        return _run(build_parser().parse_args(argv))
    finally:
        warnings.formatwarning = previous  # main() may be called in-process (tests, notebooks)


def _run(args: argparse.Namespace) -> int:
    """Call the subcommand; map what it raises to a message and an exit code."""
    try:
        code = int(args.func(args) or 0)
        sys.stdout.flush()  # a closed pipe shows here, not at exit
        return code
    except BrokenPipeError:  # `textig ... | head`: the reader has what it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except UsageError as error:
        hint = f"see textig {args.command} --help"
        print(f"textig {args.command}: error: {error} ({hint})", file=sys.stderr)
        return 2
    except TextigError as error:
        print(f"textig: error: {error}", file=sys.stderr)
        return 1
    except (OSError, ValueError) as error:
        if os.environ.get("TEXTIG_DEBUG"):
            raise
        print(f"textig: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("textig: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
