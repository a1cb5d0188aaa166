"""3D training: contrastive and GVSL methods on a tiny bank (16^3 crops, widths (4, 8)), through the generic trainer."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from perceptflow.distortions.medical.stage import distort_volumes
from perceptflow.models.volumes import load_volume_encoder
from perceptflow.models.volumes.stage import train_volume_random_init
from perceptflow.ssl.training import samples_from_manifest
from perceptflow.ssl.volumes.config import VolumeTrainConfig
from perceptflow.ssl.volumes.contrastive import N_CLASSES, VolumeCropViews, build_volume_contrastive
from perceptflow.ssl.volumes.gvsl_training import GVSLTriplets, build_volume_gvsl, gvsl_adam, gvsl_volume_encoder
from perceptflow.ssl.volumes.registry import volume_train_config
from perceptflow.ssl.volumes.stage import train_volume_encoder

CONFIG = VolumeTrainConfig(widths=(4, 8), crop=16, epochs=2, batch_size=4, lr=0.05, gvsl_lr=0.01, gvsl_window=5)


class KilledError(RuntimeError):
    """Simulates a killed job."""


@pytest.fixture(scope="module")
def manifest(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """nibabel's anatomical volume at 6 mm, 24^3: pristine + blur and Rician noise at levels 1 and 5 (5 volumes)."""
    root = tmp_path_factory.mktemp("vbank")
    params = {
        "references": {"kind": "demo", "names": ["nibabel_anatomical"]},
        "preprocess": {"spacing": 6.0, "shape": 24},
        "distort": {"artefacts": ["mri_blur", "mri_rician_noise"], "levels": [1, 5]},
    }
    distort_volumes(
        params, out_dir=root / "volumes", manifest_path=root / "manifest.csv", skipped_path=root / "skipped.csv"
    )
    return root / "manifest.csv"


def batch_of(dataset: torch.utils.data.Dataset, seed: int = 0) -> list[torch.Tensor]:
    items = [dataset[(index, seed + index)] for index in range(len(dataset))]
    return [torch.stack(parts) for parts in zip(*items, strict=True)]


def test_crop_views__shapes_labels_and_seeded_crops(manifest: Path) -> None:
    samples = samples_from_manifest(manifest)
    dataset = VolumeCropViews(samples, crop=16)
    a, b, one_hot = dataset[(1, 42)]
    assert a.shape == b.shape == (1, 16, 16, 16) and a.dtype == torch.float32
    assert one_hot.shape == (N_CLASSES,) and one_hot.sum() == 1 and one_hot[samples[1].label] == 1
    again = dataset[(1, 42)]
    assert torch.equal(a, again[0]) and torch.equal(b, again[1])
    assert not torch.equal(a, dataset[(1, 43)][0])


def test_contrastive__gradient_reaches_every_parameter_and_loss_falls(manifest: Path) -> None:
    torch.manual_seed(0)
    method = build_volume_contrastive(CONFIG).train()
    batch = batch_of(VolumeCropViews(samples_from_manifest(manifest), 16))
    method.training_step(batch).backward()
    for name, parameter in method.named_parameters():
        assert parameter.grad is not None and parameter.grad.abs().sum() > 0, name
    optimizer = torch.optim.SGD(method.parameters(), lr=0.05, momentum=0.9)
    losses = []
    for _ in range(8):
        optimizer.zero_grad()
        loss = method.training_step(batch)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0] - 0.05, losses


def test_gvsl_triplets__corrupted_a_and_other_b(manifest: Path) -> None:
    dataset = GVSLTriplets(samples_from_manifest(manifest), crop=16)
    a, a_corrupted, b = dataset[(0, 7)]
    assert a.shape == a_corrupted.shape == b.shape == (1, 16, 16, 16)
    assert not torch.equal(a, a_corrupted) and not torch.equal(a, b)
    assert all(torch.equal(x, y) for x, y in zip(dataset[(0, 7)], (a, a_corrupted, b), strict=True))


def test_gvsl__gradient_reaches_unet_and_heads_loss_falls_and_export(manifest: Path) -> None:
    torch.manual_seed(0)
    method = build_volume_gvsl(CONFIG).train()
    batch = batch_of(GVSLTriplets(samples_from_manifest(manifest), 16))[:3]
    method.training_step(batch).backward()
    for prefix in ("encoder.", "affine_head.", "deformable_head.", "restoration."):
        grads = [p.grad for n, p in method.named_parameters() if n.startswith(prefix)]
        assert grads and all(g is not None for g in grads) and sum(g.abs().sum() for g in grads) > 0, prefix
    optimizer = gvsl_adam(method, CONFIG)
    losses = []
    for _ in range(8):
        optimizer.zero_grad()
        loss = method.training_step(batch)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0], losses
    encoder = gvsl_volume_encoder(method)
    x = torch.rand(2, 1, 16, 16, 16)
    with torch.no_grad():
        f_global, f_local = method.encoder.eval()(x)
        torch.testing.assert_close(encoder(x), torch.cat([f_global.mean((2, 3, 4)), f_local.mean((2, 3, 4))], 1))


def _train(method: str, manifest: Path, root: Path, params: dict[str, Any], **kwargs: Any) -> list[dict[str, Any]]:
    return train_volume_encoder(
        method, manifest, params, checkpoint_dir=root / "ckpt", encoder_out=root / "encoder.pt", threads=1, **kwargs
    )


PARAMS = {"widths": [4, 8], "crop": 16, "epochs": 2, "batch_size": 2, "gvsl_lr": 0.01, "gvsl_window": 5}


@pytest.mark.parametrize("method", ["contrastive3d", "gvsl"])
def test_train__deterministic_resumable_and_exports_a_volume_encoder(
    method: str, manifest: Path, tmp_path: Path
) -> None:
    history = _train(method, manifest, tmp_path / "a", PARAMS)
    assert [row["epoch"] for row in history] == [1, 2] and all(np.isfinite(row["loss"]) for row in history)
    encoder, info = load_volume_encoder(tmp_path / "a" / "encoder.pt")
    assert info["method"] == method and encoder.widths == (4, 8) and info["metadata"]["history"] == history
    assert info["metadata"]["config"]["crop"] == 16

    def stop_after_epoch_1(row: dict[str, Any]) -> None:
        if row["epoch"] == 1:
            raise KilledError

    with pytest.raises(KilledError):
        _train(method, manifest, tmp_path / "b", PARAMS, on_epoch=stop_after_epoch_1)
    seen: list[int] = []
    resumed = _train(method, manifest, tmp_path / "b", PARAMS, on_epoch=lambda row: seen.append(row["epoch"]))
    assert seen == [2] and [r["loss"] for r in resumed] == [r["loss"] for r in history]
    other, _ = load_volume_encoder(tmp_path / "b" / "encoder.pt")
    for (key, value), twin in zip(encoder.state_dict().items(), other.state_dict().values(), strict=True):
        assert torch.equal(value, twin), key


def test_config__validation_names_the_key_and_methods_ignore_foreign_keys() -> None:
    with pytest.raises(ValueError, match=r"volumes\.train\.crop must be a multiple of 4"):
        VolumeTrainConfig(widths=(4, 8, 16), crop=18)
    with pytest.raises(ValueError, match=r"unknown volumes\.train key\(s\) \['arch'\]"):
        VolumeTrainConfig.from_dict({"arch": "resnet18"})
    with pytest.raises(ValueError, match=r"volumes\.train\.gvsl_window must be odd"):
        VolumeTrainConfig(gvsl_window=4)
    with pytest.raises(ValueError, match=r"not a 3D method"):
        volume_train_config("contrique", {})
    params = {"methods": ["gvsl"], "random_init_seed": 3, "temperature": 0.5, "gvsl_lr": 0.001}
    assert volume_train_config("gvsl", params) == replace(VolumeTrainConfig(), gvsl_lr=0.001)
    assert volume_train_config("contrastive3d", params) == replace(VolumeTrainConfig(), temperature=0.5)


def test_random_init__seeded_volume_encoder(tmp_path: Path) -> None:
    train_volume_random_init([4, 8], 5, tmp_path / "a.pt")
    train_volume_random_init((4, 8), 5, tmp_path / "b.pt")
    a, info = load_volume_encoder(tmp_path / "a.pt")
    b, _ = load_volume_encoder(tmp_path / "b.pt")
    assert info["method"] == "random_init" and info["metadata"] == {"seed": 5, "widths": [4, 8]} and a.feature_dim == 12
    assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values(), strict=True))


def test_cli_ssl_list__shows_3d_methods(capsys: pytest.CaptureFixture[str]) -> None:
    from perceptflow.cli.main import main

    assert main(["ssl", "list", "--json"]) == 0
    listed = {m["name"]: m["domain"] for m in json.loads(capsys.readouterr().out)}
    assert listed["contrastive3d"] == listed["gvsl"] == "3d" and listed["contrique"] == "2d"


def test_workflow_resolves_volume_params_with_the_library_key_lists() -> None:
    """The rules take 3D method names and per-method keys from the library (perceptflow.wiring), never a copy."""
    from perceptflow.ssl.volumes.config import CONTRASTIVE_KEYS, GVSL_KEYS
    from perceptflow.wiring import resolve_volume_method_params

    text = (Path(__file__).parents[2] / "rules" / "volumes_common.smk").read_text()
    assert "GVSL_KEYS" not in text and "CONTRASTIVE_KEYS" not in text
    train = {"methods": ["gvsl"], "random_init_seed": 1, "epochs": 2, "lr": 0.1, "gvsl_lr": 0.001}
    gvsl, contrastive = (resolve_volume_method_params(train, m) for m in ("gvsl", "contrastive3d"))
    assert gvsl == {"epochs": 2, "gvsl_lr": 0.001} and not set(gvsl) & set(CONTRASTIVE_KEYS)
    assert contrastive == {"epochs": 2, "lr": 0.1} and not set(contrastive) & set(GVSL_KEYS)
    with pytest.raises(ValueError, match="not a 3D method"):
        resolve_volume_method_params(train, "contrique")
