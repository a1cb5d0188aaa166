"""``perceptflow score``: pairs, folders, CSV, NR, --info, --out, and one clear line (exit 2) on bad input."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image

from perceptflow.cli.main import main
from perceptflow.metric import load_metric, metric_payload, save_metric_file, score_files


def test_one_pair_prints_a_summary_with_the_direction(
    fr_file: Path, image_pairs: tuple[list[Path], list[Path]], capsys: pytest.CaptureFixture[str]
) -> None:
    refs, dists = image_pairs
    assert (
        main(["score", "--metric", str(fr_file), "--ref", str(refs[0]), "--dist", str(dists[0]), "--no-progress"]) == 0
    )
    out = capsys.readouterr().out
    expected = score_files(load_metric(fr_file), dists[:1], refs[:1], progress=False)[0]
    assert f"score {expected:.6g} (FR distance, lower = better)" in out


def test_folders_pair_by_name_and_list_the_unmatched(
    fr_file: Path, image_pairs: tuple[list[Path], list[Path]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    refs, dists = image_pairs
    ref_dir, dist_dir = tmp_path / "ref", tmp_path / "dist"
    ref_dir.mkdir(), dist_dir.mkdir()
    for ref, dist in zip(refs[::2], dists[::2], strict=True):  # one distorted copy per reference, same name
        shutil.copy(ref, ref_dir / dist.name)
        shutil.copy(dist, dist_dir / dist.name)
    shutil.copy(dists[1], dist_dir / "lonely.png")
    out_csv = tmp_path / "scores.csv"
    argv = ["score", "--metric", str(fr_file), "--ref-dir", str(ref_dir), "--dist-dir", str(dist_dir)]
    assert main([*argv, "--out", str(out_csv), "--no-progress", "--batch-size", "2"]) == 0
    captured = capsys.readouterr()
    assert "unmatched (not scored): " in captured.err and "lonely.png" in captured.err
    frame = pd.read_csv(out_csv)
    assert list(frame.columns) == ["dist", "ref", "score"] and len(frame) == 3
    expected = score_files(load_metric(fr_file), dists[::2], refs[::2], progress=False)
    np.testing.assert_allclose(frame["score"], expected, rtol=1e-5)


def test_csv_and_nr_folder(
    encoder: torch.nn.Module, image_pairs: tuple[list[Path], list[Path]], tmp_path: Path
) -> None:
    refs, dists = image_pairs
    csv = tmp_path / "pairs.csv"
    pd.DataFrame({"dist": [str(d) for d in dists], "ref": [str(r) for r in refs]}).to_csv(csv, index=False)
    nr = {"coef": torch.ones(1024, dtype=torch.float64), "intercept": 0.0, "alpha": 1.0, "higher_is_better": False}
    save_metric_file(metric_payload(encoder, method="random", nr=nr), tmp_path / "nr.pt")
    out = tmp_path / "out.csv"
    assert (
        main(["score", "--metric", str(tmp_path / "nr.pt"), "--csv", str(csv), "--out", str(out), "--no-progress"]) == 0
    )
    assert len(pd.read_csv(out)) == len(dists)
    dist_dir = Path(dists[0]).parent
    assert main(["score", "--metric", str(tmp_path / "nr.pt"), "--dist-dir", str(dist_dir), "--out", str(out)]) == 0
    assert list(pd.read_csv(out).columns) == ["dist", "score"]


def test_info_prints_the_sections(fr_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["score", "--info", str(fr_file)]) == 0
    out = capsys.readouterr().out
    assert '"format": "perceptflow.metric/1"' in out and '"fr_lower_better": true' in out


def _bad_inputs(fr_file: Path, image_pairs: tuple[list[Path], list[Path]], tmp_path: Path) -> list:
    refs, dists = image_pairs
    small = tmp_path / "small.png"
    Image.fromarray(np.zeros((40, 40, 3), np.uint8)).save(small)
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not a png")
    return [
        (
            ["--metric", str(fr_file), "--ref", str(refs[0]), "--dist", str(small)],
            "size mismatch: .*small.png is 40x40",
        ),
        (["--metric", str(fr_file), "--ref", str(refs[0]), "--dist", str(broken)], "cannot read .*broken.png"),
        (["--metric", str(fr_file), "--dist", str(dists[0])], "has no no-reference head"),
        (
            ["--metric", str(refs[0]), "--ref", str(refs[0]), "--dist", str(dists[0])],
            "is not a perceptflow metric file",
        ),
        (["--metric", str(fr_file), "--csv", str(tmp_path / "none.csv")], "CSV not found"),
    ]


def test_bad_input_exits_2_with_one_line(
    fr_file: Path, image_pairs: tuple[list[Path], list[Path]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for argv, message in _bad_inputs(fr_file, image_pairs, tmp_path):
        assert main(["score", *argv, "--no-progress"]) == 2, argv
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and err.startswith("perceptflow score: error: "), err
        assert re.search(message, err), (message, err)
