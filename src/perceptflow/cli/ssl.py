"""``perceptflow ssl``: the self-supervised methods available to ``train.method``."""

from __future__ import annotations

import argparse
import json


def add_ssl_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register the ``ssl`` subcommand."""
    parser = subparsers.add_parser("ssl", help="self-supervised methods")
    commands = parser.add_subparsers(dest="ssl_command", required=True)
    listing = commands.add_parser("list", help="name each method with a one-line description")
    listing.add_argument("--json", action="store_true", help="machine-readable output")
    listing.set_defaults(func=run_list)


def run_list(args: argparse.Namespace) -> int:
    """Print the registry of methods."""
    from perceptflow.ssl import METHODS

    if args.json:
        print(json.dumps([{"name": name, "description": spec.description} for name, spec in METHODS.items()]))
        return 0
    width = max(len(name) for name in METHODS)
    for name, spec in METHODS.items():
        print(f"{name:<{width}}  {spec.description}")
    return 0
