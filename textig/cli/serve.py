"""`textig serve`: a local web explorer; models load once, then every caption is explained
in the time of one explanation (see ``textig.serve``)."""

from __future__ import annotations

import argparse
import socket
import sys
from pathlib import Path

from textig.cli.arguments import port_number
from textig.errors import TextigError
from textig.settings import DEFAULTS, DEVICE_HELP, DEVICES, METHOD_HELP, METHODS

DEFAULT_PORT = 8765


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `serve` subcommand."""
    parser = subparsers.add_parser(
        "serve",
        help="a local web explorer: type a caption, see its reports (needs textig[serve])",
        description="Serve an explorer on this machine: type a caption, choose labels and "
        "embedders, and read the reports side by side. Models load once at start. Listens on "
        "127.0.0.1 only unless --host says otherwise.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument(
        "--port",
        type=port_number,
        default=DEFAULT_PORT,
        help=f"port (default {DEFAULT_PORT}; 0: any)",
    )
    parser.add_argument("--data", type=Path, help="data folder (default: bundled demo corpus)")
    parser.add_argument("--embedders", default="glove", help="comma-separated, e.g. glove,sbert")
    parser.add_argument(
        "--model",
        action="append",
        default=[],
        metavar="EMBEDDER=PATH",
        help="model file of one embedder (repeatable); others are trained/cached",
    )
    parser.add_argument("--method", choices=METHODS, default=DEFAULTS.method, help=METHOD_HELP)
    parser.add_argument("--device", choices=DEVICES, default=DEFAULTS.device, help=DEVICE_HELP)
    parser.add_argument("--seed", type=int, help="seed for training a model when none is given")
    parser.set_defaults(func=run)


def _explainers(args: argparse.Namespace) -> dict:
    from textig.cli.compare import _model_paths
    from textig.cli.explain import load_data, make_explainer

    specs = list(dict.fromkeys(s.strip() for s in args.embedders.split(",") if s.strip()))
    if not specs:
        raise TextigError("--embedders names no embedder")
    models = _model_paths(specs, args.model)
    dataset = load_data(args.data)
    setup = argparse.Namespace(
        data=args.data,
        seed=args.seed,
        n=None,
        ids=None,
        baseline=None,
        method=args.method,
        steps=DEFAULTS.steps,
        word_steps=DEFAULTS.word_steps,
        device=args.device,
    )
    return {
        spec: make_explainer(spec, models.get(spec), dataset, setup, need_training=True)
        for spec in specs
    }


def run(args: argparse.Namespace) -> int:
    """Load the models, bind, print the address, serve until interrupted."""
    try:
        import uvicorn

        from textig.serve import LOCAL_HOSTS, Explorer, create_app
    except ImportError as error:
        raise TextigError(
            f"textig serve needs the serve extra ({error.name} is missing): "
            "pip install 'textig[serve]'"
        ) from None
    if not 0 <= args.port <= 65535:
        raise TextigError("--port must be between 0 and 65535")
    explorer = Explorer(_explainers(args))
    explorer.warm_up()
    family = socket.AF_INET6 if ":" in args.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((args.host, args.port))
        sock.listen(128)  # connections wait in the backlog until uvicorn accepts them
    except OSError as error:
        raise TextigError(f"cannot listen on {args.host}:{args.port}: {error.strerror}") from None
    host, port = sock.getsockname()[:2]
    local = args.host in LOCAL_HOSTS
    hosts = [*LOCAL_HOSTS] if local else ["*"]
    shown = f"[{host}]" if family == socket.AF_INET6 else host
    print(f"textig explorer: http://{shown}:{port}/ (Ctrl-C stops it)", flush=True)
    if not local:
        print("textig: warning: listening beyond this machine (--host)", file=sys.stderr)
    config = uvicorn.Config(create_app(explorer, allowed_hosts=hosts), log_level="warning")
    uvicorn.Server(config).run(sockets=[sock])
    return 0
