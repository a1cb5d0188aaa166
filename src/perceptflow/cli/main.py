"""``perceptflow``: command-line entry point."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from perceptflow import __version__


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser (subcommands register themselves)."""
    from perceptflow.cli.distortions import add_distortions_parser
    from perceptflow.cli.evaluate import add_evaluate_parser
    from perceptflow.cli.score import add_score_parser
    from perceptflow.cli.ssl import add_ssl_parser

    parser = argparse.ArgumentParser(
        prog="perceptflow",
        description="Learn a perceptual quality metric without human labels (distort, train, extract, regress, "
        "evaluate). The workflow runs with `snakemake --cores all`; these commands serve single tasks.",
    )
    parser.add_argument("--version", action="version", version=f"perceptflow {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress at INFO level")
    subparsers = parser.add_subparsers(dest="command", required=True)
    add_evaluate_parser(subparsers)
    add_distortions_parser(subparsers)
    add_ssl_parser(subparsers)
    add_score_parser(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code. User errors print one line and exit 2."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(message)s")
    try:
        return int(args.func(args))
    except (ValueError, KeyError, FileNotFoundError) as error:
        message = error.args[0] if isinstance(error, KeyError) and error.args else error
        print(f"perceptflow {args.command}: error: {message}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
