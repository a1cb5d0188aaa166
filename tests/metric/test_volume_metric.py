"""The 3D metric: files of modality ``3d``, `VolumeMetric` scores and loss, NIfTI scoring through the CLI, export."""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np
import pandas as pd
import pytest
import torch
from scipy import ndimage

from perceptflow.cli.main import main
from perceptflow.data.datasets import DatasetTable, save_table
from perceptflow.data.volumes.datasets import read_volume_array
from perceptflow.data.volumes.nifti import NiftiConfig
from perceptflow.export.volumes.stage import export_volume_metric
from perceptflow.features.store import write_feature_store
from perceptflow.features.volumes.extract import encode_volumes
from perceptflow.metric import MetricFileError, VolumeMetric, load_metric, save_metric_file, volume_metric_payload
from perceptflow.metric.learned import load_metric as load_2d_metric
from perceptflow.models.volumes import build_volume_encoder, save_volume_encoder
from perceptflow.models.volumes.windows import WindowSpec

WINDOW = WindowSpec(window=16, stride=8, batch_size=3)
PREPROCESS = NiftiConfig(spacing=1.0, shape=(24, 24, 24))


@pytest.fixture(scope="module")
def encoder() -> torch.nn.Module:
    return build_volume_encoder((4, 8), seed=0)


@pytest.fixture(scope="module")
def fr_file(tmp_path_factory: pytest.TempPathFactory, encoder: torch.nn.Module) -> Path:
    path = tmp_path_factory.mktemp("metric3d") / "fr.pt"
    payload = volume_metric_payload(encoder, method="random", window=WINDOW, preprocess=PREPROCESS)
    save_metric_file(payload, path)
    return path


def _phantom(seed: int, size: int = 24) -> np.ndarray:
    """A smooth blob phantom in [0, 1]."""
    rng = np.random.default_rng(seed)
    volume = ndimage.gaussian_filter(rng.uniform(0, 1, (size, size, size)), 2.0)
    return ((volume - volume.min()) / np.ptp(volume)).astype(np.float32)


def _degrade(volume: np.ndarray, level: int, seed: int) -> np.ndarray:
    noisy = volume + np.random.default_rng(seed).normal(0, 0.06 * level, volume.shape)
    return np.clip(ndimage.gaussian_filter(noisy, 0.5 * level), 0, 1).astype(np.float32)


def _nifti(volume: np.ndarray, path: Path) -> Path:
    nib.save(nib.Nifti1Image(volume * 1000.0, np.eye(4)), path)
    return path


def test_features_equal_the_extract_stage_and_a_distance_is_symmetric_and_zero_on_itself(
    fr_file: Path, encoder: torch.nn.Module
) -> None:
    metric = load_metric(fr_file)
    assert isinstance(metric, VolumeMetric) and metric.modality == "3d" and metric.lower_better
    volumes = [_phantom(0), _degrade(_phantom(0), 2, 1)]
    with torch.inference_mode():
        features = metric.features(metric.prepare(torch.from_numpy(np.stack(volumes))[:, None]))
    expected = encode_volumes(encoder.eval(), volumes, WINDOW)  # 8 windows of 16^3 per 24^3 volume
    np.testing.assert_allclose(features.numpy(), expected, rtol=1e-4, atol=1e-5)
    a, b = torch.from_numpy(volumes[0]), torch.from_numpy(volumes[1])
    assert float(metric(a, a)[0]) == 0.0
    assert float(metric(a, b)[0]) == pytest.approx(float(metric(b, a)[0]), rel=1e-6)
    assert float(metric(a, b)[0]) > 0


def test_bad_inputs_are_refused_with_the_expected_range(fr_file: Path) -> None:
    metric = load_metric(fr_file)
    volume = torch.from_numpy(_phantom(0))
    with pytest.raises(ValueError, match=r"dist must be a float torch.Tensor.*dtype torch.uint8"):
        metric((volume * 255).to(torch.uint8), volume)
    with pytest.raises(ValueError, match=r"values in \[0, 1000\]; expected volumes in \[0, 1\]"):
        metric(volume * 1000, volume)  # raw intensities
    assert float(metric(volume * 1.2, volume)[0]) > 0  # an artefact's overshoot is accepted
    with pytest.raises(ValueError, match=r"this is a 3D metric \(2D images need a 2D metric file\)"):
        metric(torch.rand(2, 3, 32, 32), torch.rand(2, 3, 32, 32))
    with pytest.raises(ValueError, match="no no-reference head"):
        metric(volume)
    with pytest.raises(MetricFileError, match=r"is a 3d metric; load it with perceptflow\.load_metric"):
        load_2d_metric(fr_file)


def test_as_loss_brings_a_degraded_volume_toward_its_reference(fr_file: Path) -> None:
    metric = load_metric(fr_file)
    reference = torch.from_numpy(_phantom(3))[None, None]
    start = torch.from_numpy(_degrade(_phantom(3), 3, 4))[None, None]
    x = start.clone().requires_grad_(True)
    loss_fn = metric.as_loss()
    optimiser = torch.optim.Adam([x], lr=0.01)
    first = float(loss_fn(x, reference).detach())
    for _ in range(25):
        optimiser.zero_grad()
        loss = loss_fn(x, reference)
        loss.backward()
        optimiser.step()
        with torch.no_grad():
            x.clamp_(0, 1)
    assert float(loss_fn(x, reference).detach()) < 0.5 * first
    assert x.grad is not None and float(x.grad.abs().sum()) > 0
    assert all(p.grad is None and not p.requires_grad for p in metric.parameters())


def test_cli_scores_nifti_folders_through_the_files_preprocessing(fr_file: Path, tmp_path: Path) -> None:
    ref_dir, dist_dir = tmp_path / "ref", tmp_path / "dist"
    ref_dir.mkdir(), dist_dir.mkdir()
    for subject in range(2):
        reference = _phantom(10 + subject)
        for level in (0, 1, 3):
            name = f"s{subject}_l{level}.nii.gz"
            _nifti(reference, ref_dir / name)
            _nifti(reference if level == 0 else _degrade(reference, level, subject), dist_dir / name)
    _nifti(_phantom(5), dist_dir / "lonely.nii.gz")
    out = tmp_path / "scores.csv"
    argv = ["score", "--metric", str(fr_file), "--ref-dir", str(ref_dir), "--dist-dir", str(dist_dir)]
    assert main([*argv, "--out", str(out), "--no-progress"]) == 0
    frame = pd.read_csv(out)
    assert len(frame) == 6 and list(frame.columns) == ["dist", "ref", "score"]
    metric = load_metric(fr_file)
    for row in frame.itertuples():
        dist, ref = (torch.from_numpy(read_volume_array(p, PREPROCESS)) for p in (row.dist, row.ref))
        with torch.inference_mode():
            assert row.score == pytest.approx(float(metric(dist, ref)[0]), rel=1e-5, abs=1e-7)
    scores = frame.set_index(frame["dist"].map(lambda p: Path(p).name))["score"]
    assert scores["s0_l0.nii.gz"] == 0.0 and scores["s1_l0.nii.gz"] == 0.0
    assert scores["s0_l3.nii.gz"] > 0 and scores["s1_l3.nii.gz"] > 0


def test_cli_refuses_the_wrong_modality_with_exit_2(
    fr_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    png = tmp_path / "a.png"
    from PIL import Image

    Image.fromarray(np.zeros((40, 40, 3), dtype=np.uint8)).save(png)
    assert main(["score", "--metric", str(fr_file), "--ref", str(png), "--dist", str(png)]) == 2
    assert "is a 3D metric and scores NIfTI volumes (.nii, .nii.gz) only" in capsys.readouterr().err


def test_export_from_a_store_gives_an_nr_head_equal_to_ridge(encoder: torch.nn.Module, tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    ids = [f"v{i}_l{level}" for i in range(4) for level in range(1, 4)]
    features = rng.normal(size=(len(ids), encoder.feature_dim)).astype(np.float32)
    targets = np.array([float(i.split("_l")[1]) for i in ids]) + rng.normal(0, 0.1, len(ids))
    order = rng.permutation(len(ids))  # 3D stores are keyed by image_id, not in table order
    store = tmp_path / "store.zarr"
    write_feature_store(
        store,
        features=features[order],
        image_ids=list(np.asarray(ids)[order]),
        ref_features=features[:1],
        ref_ids=["v0"],
        attributes={},
    )
    frame = pd.DataFrame(
        {
            "image_id": ids,
            "path": [f"{i}.nii.gz" for i in ids],
            "target": targets,
            "ref_id": [i.split("_")[0] for i in ids],
            "ref_path": [f"{i.split('_')[0]}.nii.gz" for i in ids],
            "dist_type": "noise",
        }
    )
    table = tmp_path / "table.csv"
    save_table(DatasetTable("vols", frame, target_name="level", higher_is_better=False), table)
    save_volume_encoder(encoder, tmp_path / "encoder.pt", method="random")
    summary = export_volume_metric(
        tmp_path / "encoder.pt",
        out=tmp_path / "vols.pt",
        extract_params={"window": 16, "stride": 8, "batch_size": 3},
        preprocess_params={"spacing": 1.0, "shape": 24},
        dataset="vols",
        features=store,
        table=table,
        alphas=[0.1, 1.0, 10.0],
    )
    assert summary["nr_n_rows"] == 12 and summary["nr_alpha"] in (0.1, 1.0, 10.0)
    metric = load_metric(tmp_path / "vols.pt")
    assert isinstance(metric, VolumeMetric) and metric.nr_lower_better is True
    assert metric.preprocess == NiftiConfig(spacing=1.0, shape=(24, 24, 24), four_d="refuse")
    from sklearn.linear_model import Ridge

    ridge = Ridge(alpha=summary["nr_alpha"]).fit(features.astype(np.float64), targets)
    coef = metric.nr_coef
    assert coef is not None
    np.testing.assert_allclose(coef.numpy(), ridge.coef_, rtol=1e-6, atol=1e-9)
    info = metric.info()
    assert info["modality"] == "3d" and info["input"]["window"] == {"window": 16, "stride": 8, "batch_size": 3}
    assert info["nr"]["dataset"] == "vols" and info["nr"]["preprocessing"] == "unet3d_window_mean_pooled"
