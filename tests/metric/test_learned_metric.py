"""`LearnedMetric`: scores, input contract, directions, agreement with the stage code it reuses."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from metric_support import smooth_image

import perceptflow
from perceptflow.metric import PerceptualDistance, load_metric, metric_payload, save_metric_file, score_files
from perceptflow.models import pooled_features


def batch(seed: int, n: int = 2, size: int = 64) -> torch.Tensor:
    rng = np.random.default_rng(seed)
    images = np.stack([smooth_image(rng, size) for _ in range(n)])
    return torch.from_numpy(images).permute(0, 3, 1, 2).float() / 255.0


def test_load_metric__is_exported_by_the_package(fr_file: Path) -> None:
    metric = perceptflow.load_metric(fr_file, device="cpu")
    assert isinstance(metric, torch.nn.Module) and metric.lower_better and not metric.training


def test_identical_pair_scores_zero_and_swap_is_symmetric(fr_file: Path, pooled_file: Path) -> None:
    x, y = batch(0), batch(1)
    for path in (fr_file, pooled_file):
        metric = load_metric(path)
        assert torch.allclose(metric(x, x), torch.zeros(2), atol=1e-6)
        assert torch.allclose(metric(x, y), metric(y, x), rtol=1e-5, atol=1e-7)
        assert (metric(x, y) > 0).all()


def test_lpips_kind_equals_the_dps_baseline_distance(encoder: torch.nn.Module, fr_file: Path) -> None:
    metric = load_metric(fr_file)
    baseline = PerceptualDistance("baseline", encoder, layers=metric.layers).eval()
    x, y = batch(2), batch(3)
    with torch.no_grad():
        torch.testing.assert_close(metric(x, y), baseline(x, y), rtol=1e-5, atol=1e-6)


def test_pooled_kind_equals_evaluates_l2_feature_distance(encoder: torch.nn.Module, pooled_file: Path) -> None:
    x, y = batch(4), batch(5)
    expected = torch.linalg.vector_norm(pooled_features(encoder, x) - pooled_features(encoder, y), dim=1)
    with torch.no_grad():
        torch.testing.assert_close(load_metric(pooled_file)(x, y), expected, rtol=1e-5, atol=1e-6)


def test_grayscale_is_replicated_and_a_single_image_is_a_batch(fr_file: Path) -> None:
    metric = load_metric(fr_file)
    gray, other = batch(6)[:, :1], batch(7)[:, :1]
    torch.testing.assert_close(metric(gray, other), metric(gray.expand(-1, 3, -1, -1), other.expand(-1, 3, -1, -1)))
    assert metric(batch(6)[0], batch(7)[0]).shape == (1,)


@pytest.mark.parametrize(
    ("images", "message"),
    [
        ((batch(0) * 255).to(torch.uint8), r"dtype torch.uint8; expected float images in \[0, 1\]"),
        (batch(0) * 2 - 1, r"values in \[-1, .*expected float images in \[0, 1\]"),
        (batch(0) * 255, r"expected float images in \[0, 1\]"),
        (batch(0, size=16), "needs sides >= 32"),
        (batch(0)[:, :2], r"\(B, 3\|1, H, W\)"),
    ],
)
def test_bad_inputs_are_refused_naming_the_contract(fr_file: Path, images: torch.Tensor, message: str) -> None:
    metric = load_metric(fr_file)
    with pytest.raises(ValueError, match=message):
        metric(images, images)


def test_values_within_the_tolerance_are_accepted(fr_file: Path) -> None:
    x = batch(8)
    overshoot = (x * 1.001 - 0.0005).clamp(-0.0009, 1.0009)
    assert torch.isfinite(load_metric(fr_file)(overshoot, x)).all()


def test_no_reference_without_a_head_is_refused(fr_file: Path) -> None:
    with pytest.raises(ValueError, match="no no-reference head"):
        load_metric(fr_file)(batch(0))


def test_nr_head_is_ridge_on_pooled_features_and_orients_its_loss(encoder: torch.nn.Module, tmp_path: Path) -> None:
    x = batch(9, n=3)
    coef = torch.linspace(-1, 1, 2 * encoder.feature_dim, dtype=torch.float64)
    nr = {"coef": coef, "intercept": 0.5, "alpha": 1.0, "higher_is_better": True, "dataset": "d", "target": "mos"}
    save_metric_file(metric_payload(encoder, method="random", nr=nr), tmp_path / "nr.pt")
    metric = load_metric(tmp_path / "nr.pt")
    expected = (pooled_features(encoder, x).double() @ coef + 0.5).float()
    torch.testing.assert_close(metric(x), expected, rtol=1e-5, atol=1e-5)
    assert metric.lower_better is False and metric.nr_lower_better is False
    torch.testing.assert_close(metric.as_loss(reduction="none")(x), -metric(x))


def test_score_files_groups_by_reference_and_matches_the_module(
    fr_file: Path, image_pairs: tuple[list[Path], list[Path]]
) -> None:
    refs, dists = image_pairs
    metric = load_metric(fr_file)
    scores = score_files(metric, dists, refs, batch_size=1, progress=False)
    again = score_files(metric, dists, refs, batch_size=8, progress=False)
    np.testing.assert_allclose(scores, again, rtol=1e-5)
    from perceptflow.data.images import load_rgb

    def tensor(path: Path) -> torch.Tensor:
        return torch.from_numpy(load_rgb(path)).permute(2, 0, 1).float()[None] / 255.0

    with torch.no_grad():
        direct = [float(metric(tensor(d), tensor(r))) for d, r in zip(dists, refs, strict=True)]
    np.testing.assert_allclose(scores, direct, rtol=1e-5)
    # noise moves the features more than nothing does: every distorted copy is away from its reference
    assert (scores > 0).all()


def test_import_perceptflow_stays_torch_free_until_load_metric_is_used() -> None:
    import subprocess
    import sys

    code = (
        "import sys, perceptflow; print('torch' in sys.modules); perceptflow.load_metric; print('torch' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["False", "True"]
