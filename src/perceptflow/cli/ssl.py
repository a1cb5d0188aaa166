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
    """Print the registry of methods: 2D (``train.methods``), then 3D (``volumes.train.methods``)."""
    from perceptflow.ssl import METHODS
    from perceptflow.ssl.volumes.registry import VOLUME_METHODS

    domains = [("2d", name, spec) for name, spec in METHODS.items()]
    domains += [("3d", name, spec) for name, spec in VOLUME_METHODS.items()]
    if args.json:
        print(json.dumps([{"name": n, "domain": d, "description": s.description} for d, n, s in domains]))
        return 0
    width = max(len(name) for _, name, _ in domains)
    for domain, name, spec in domains:
        print(f"{name:<{width}}  {domain.upper()}  {spec.description}")
    return 0
