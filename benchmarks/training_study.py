"""Which training settings make the learned metric agree with people? One workflow run per setting, one table.

Each setting is a config overlay merged over a base config by Snakemake (``--configfile BASE OVERLAY``), run in
this checkout in sequence so that settings share what they share (the bank is built once; a `train` overlay reruns
training and what follows only). After each run, its results (without the bank) are kept under
``--keep/<setting>/`` and its rows replace that setting's in ``--rows`` (tracked, so the table survives a
clone): LIVE dev FR SRCC of each FR score (pooled, LPIPS-style, `contrique_fr_ridge`), NR ridge median and
5-95 % range over content splits, and random init on the same rows.
Settings are chosen on the dev split only (issue 12); every row carries its command.

    nice -n 15 python benchmarks/training_study.py --base configs/natural-cpu.yaml \
        --setting base= --setting epochs12=configs/study/epochs12.yaml --out docs/training_study.md
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

BEGIN, END = "<!-- training-study:begin -->", "<!-- training-study:end -->"
KEPT = ("train", "extract", "regress", "evaluate", "report", "metric")
FR_MODES = ("fr_zero_shot", "fr_lpips", "contrique_fr_ridge")


def run_setting(base: Path, overlay: str, cores: int) -> tuple[list[str], float]:
    """Run the workflow for one setting in this checkout; the command and its wall time."""
    command = ["snakemake", "--cores", str(cores), "--configfile", str(base), *([overlay] if overlay else [])]
    started = time.monotonic()
    subprocess.run([str(Path(sys.executable).parent / command[0]), *command[1:]], check=True)
    return command, time.monotonic() - started


def keep_results(results: Path, keep: Path) -> None:
    """Copy the run's results except the bank (shared by settings, large) to ``keep``."""
    if keep.exists():
        shutil.rmtree(keep)
    for name in KEPT:
        if (results / name).exists():
            shutil.copytree(results / name, keep / name)


def _srcc(block: dict) -> float | None:
    """|SRCC| of a score block: pooled over all images where it has one (zero-shot), else the median over splits."""
    value = block.get("srcc", block.get("srcc_median"))
    return None if value is None else abs(value)


def study_rows(keep: Path, setting: str, command: str, seconds: float) -> list[dict]:
    """One row per (dataset, model) of a kept run: FR SRCC per score and NR median / range over splits."""
    rows = []
    for path in sorted(keep.glob("evaluate/*/*/metrics.json")):
        metrics = json.loads(path.read_text())
        models = {metrics["method"]: metrics, "random_init": metrics["baselines"].get("random_init", {})}
        for model, block in models.items():
            row = {"setting": setting, "dataset": metrics["dataset"], "model": model, "command": command}
            row |= {m: _srcc(block.get(m, {})) for m in FR_MODES}
            nr = block.get("nr_ridge", {})
            splits = sorted(abs(s["srcc"]) for s in nr.get("per_split", []) if s.get("srcc") is not None)
            row["nr_median"] = _srcc({"srcc_median": nr["srcc_median"]}) if "srcc_median" in nr else None
            row["nr_range"] = (splits[len(splits) // 20], splits[-1 - len(splits) // 20]) if splits else None
            row["minutes"] = seconds / 60
            rows.append(row)
    return rows


def markdown(rows: list[dict]) -> str:
    """The study table: one line per setting and model."""

    def fmt(value: float | None) -> str:
        return "—" if value is None else f"{value:.3f}"

    lines = [
        "| setting | dataset | model | FR pooled | FR LPIPS-style | CONTRIQUE-FR ridge | NR ridge median [5-95 %] "
        "| run (min) | command |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        nr = fmt(r["nr_median"]) + (f" [{r['nr_range'][0]:.3f}, {r['nr_range'][1]:.3f}]" if r["nr_range"] else "")
        lines.append(
            f"| {r['setting']} | {r['dataset']} | {r['model']} | {fmt(r['fr_zero_shot'])} | {fmt(r['fr_lpips'])} "
            f"| {fmt(r['contrique_fr_ridge'])} | {nr} | {r['minutes']:.0f} | `{r['command']}` |"
        )
    return "\n".join(lines) + "\n"


def write_table(out: Path, rows: list[dict]) -> None:
    """Replace the table between the markers of ``out`` (created when missing)."""
    block = f"{BEGIN}\n{markdown(rows)}{END}"
    text = out.read_text() if out.is_file() else f"# Training study\n\n{BEGIN}\n{END}\n"
    if BEGIN not in text:
        text += f"\n{BEGIN}\n{END}\n"
    out.write_text(re.sub(re.escape(BEGIN) + ".*?" + re.escape(END), lambda _: block, text, flags=re.S))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base", type=Path, required=True, help="base config (e.g. configs/natural-cpu.yaml)")
    parser.add_argument("--setting", action="append", required=True, help="NAME=OVERLAY.yaml, or NAME= for the base")
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--keep", type=Path, default=Path("benchmarks/results/study"))
    parser.add_argument("--out", type=Path, default=Path("docs/training_study.md"))
    parser.add_argument(
        "--rows", type=Path, default=Path("benchmarks/training_study_rows.json"), help="rows so far (tracked)"
    )
    args = parser.parse_args(argv)
    saved = args.rows  # rows of earlier invocations: a study grows one setting at a time, across sessions
    rows: list[dict] = json.loads(saved.read_text()) if saved.is_file() else []
    for spec in args.setting:
        name, sep, overlay = spec.partition("=")
        if not sep or (overlay and not Path(overlay).is_file()):
            parser.error(f"--setting {spec!r}: expected NAME=OVERLAY.yaml (an existing file) or NAME=")
        command, seconds = run_setting(args.base, overlay, args.cores)
        keep_results(Path("results"), args.keep / name)
        new = study_rows(args.keep / name, name, " ".join(command), seconds)
        rows = [r for r in rows if r["setting"] != name] + new
        saved.write_text(json.dumps(rows, indent=1))
        write_table(args.out, rows)
        print(markdown(rows), flush=True)


if __name__ == "__main__":
    main()
