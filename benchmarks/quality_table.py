"""Regenerate docs/quality.md's table and plot from workflow results: datasets x encoders x scores, with intervals.

Each run is ``RESULTS_DIR=COMMAND``: the folder the workflow wrote and the command that wrote it, shown beside every
number it produced. Example (the figures in docs/quality.md):

    python benchmarks/quality_table.py \
        --run "results=nice -n 15 snakemake --cores 2 --configfile configs/natural-cpu.yaml" \
        --out docs/quality.md --plot docs/quality.png
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from perceptflow.evaluate.quality import plot_quality, quality_markdown, quality_table

BEGIN, END = "<!-- quality-table:begin -->", "<!-- quality-table:end -->"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", action="append", required=True, help="RESULTS_DIR=COMMAND (repeatable)")
    parser.add_argument("--out", type=Path, default=Path("docs/quality.md"), help="Markdown file to update")
    parser.add_argument("--plot", type=Path, default=Path("docs/quality.png"))
    parser.add_argument("--n-boot", type=int, default=1000)
    args = parser.parse_args(argv)
    runs = []
    for spec in args.run:
        results, sep, command = spec.partition("=")
        if not sep or not Path(results).is_dir():
            parser.error(f"--run {spec!r}: expected an existing RESULTS_DIR=COMMAND")
        runs.append((results, command))
    table = quality_table(runs, n_boot=args.n_boot)
    if table.empty:
        parser.error(f"no results/evaluate/*/*/metrics.json under {[r for r, _ in runs]}")
    block = f"{BEGIN}\n{quality_markdown(table)}{END}"
    text = args.out.read_text() if args.out.is_file() else f"# Quality\n\n{BEGIN}\n{END}\n"
    if BEGIN not in text:
        text += f"\n{BEGIN}\n{END}\n"
    args.out.write_text(re.sub(re.escape(BEGIN) + ".*?" + re.escape(END), lambda _: block, text, flags=re.S))
    plot_quality(table, args.plot)
    print(f"{len(table)} rows -> {args.out}, {args.plot}")


if __name__ == "__main__":
    main()
