"""The workflow refuses bad input before any job runs, naming the key or file; the user's files are unchanged."""

from __future__ import annotations

import copy
import hashlib
from pathlib import Path

import numpy as np
import yaml
from PIL import Image
from workflow_support import run_snakemake, tiny_config  # tests/workflow: on the path by conftest.py


def _checksums(folder: Path) -> dict[str, str]:
    return {str(p): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.rglob("*")) if p.is_file()}


def _write(path: Path, config: dict) -> Path:
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def test_bad_configs_fail_while_parsing_naming_the_key_or_line(tmp_path: Path) -> None:
    config = tiny_config(None)
    bad = copy.deepcopy(config)
    bad["regress"]["fractions"] = [0.7, 0.2, 0.2]
    result = run_snakemake(tmp_path, _write(tmp_path / "fractions.yaml", bad), "-n", check=False)
    assert result.returncode != 0 and "regress.fractions must sum to 1" in result.stdout + result.stderr

    bad = copy.deepcopy(config)
    bad["train"]["crop_size"] = 96
    result = run_snakemake(tmp_path, _write(tmp_path / "crop.yaml", bad), "-n", check=False)
    assert "train.crop_size = 96 is larger than distort.crop = 64" in result.stdout + result.stderr

    text = yaml.safe_dump(config, sort_keys=False).replace("  epochs: 4\n", "  epochs: 4\n  epochs: 10\n", 1)
    (tmp_path / "duplicate.yaml").write_text(text)
    result = run_snakemake(tmp_path, tmp_path / "duplicate.yaml", "-n", check=False)
    assert result.returncode != 0 and "duplicate key 'epochs'" in result.stdout + result.stderr


def test_small_reference_fails_in_the_first_job_and_unsupported_files_are_listed(tmp_path: Path) -> None:
    refs = tmp_path / "refs"
    refs.mkdir()
    rng = np.random.default_rng(0)
    for index in range(4):
        Image.fromarray(rng.integers(0, 255, (64, 64, 3), dtype=np.uint8)).save(refs / f"r{index}.png")
    Image.fromarray(rng.integers(0, 255, (10, 10, 3), dtype=np.uint8)).save(refs / "tiny.png")
    (refs / "clip.gif").write_bytes(b"GIF89a")
    before = _checksums(refs)
    config = tiny_config(None)
    config["distort"]["references"] = {"kind": "folder", "path": str(refs)}
    config["train"]["methods"] = ["contrique"]
    config["adapt_dps"]["enabled"] = False
    config["distort"]["dps"]["enabled"] = False
    work = tmp_path / "work"
    work.mkdir()
    result = run_snakemake(work, _write(tmp_path / "refs.yaml", config), "--cores", "1", check=False)
    output = result.stdout + result.stderr
    assert result.returncode != 0 and "tiny.png is 10x10, smaller than distort.crop = 64" in output
    assert not (work / "results" / "distort" / "manifest.csv").exists(), "no job ran"
    skipped = (work / "results" / "distort" / "skipped.csv").read_text()
    assert "clip.gif" in skipped and "unsupported file type '.gif'" in skipped
    assert _checksums(refs) == before
