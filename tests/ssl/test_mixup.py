"""Mix-up SSL: loss, mixing, heads' gradients, config, slices, held-out split, determinism."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from perceptflow.data.slices import demo_mri_slices, folder_images, volume_slices, write_slice_pngs
from perceptflow.models import load_encoder
from perceptflow.ssl import METHODS, MixupConfig, TrainConfig, TrainSample, mixup_loss, train_method
from perceptflow.ssl.mixup import (
    MixupPairs,
    build_mixup,
    held_out_pairs,
    mix,
    mixup_domains,
    photo_reference,
    split_groups,
    transparency_srcc,
)
from perceptflow.ssl.resume import samples_fingerprint
from perceptflow.ssl.training import RESUMABLE_KEYS, checkpoint_key


def write_photos(root: Path, *, n_references: int = 10, per_reference: int = 2, size: int = 40) -> list[TrainSample]:
    """``<ref>__crop__<k>.png`` colour photos-like images: smooth random colour fields with texture."""
    rng = np.random.default_rng(1)
    samples = []
    for ref in range(n_references):
        for k in range(per_reference):
            coarse = rng.uniform(0, 255, (5, 5, 3)).astype(np.uint8)
            field = np.asarray(Image.fromarray(coarse).resize((size, size), Image.Resampling.BICUBIC), np.float64)
            image = np.clip(field + rng.normal(0, 15, field.shape), 0, 255).astype(np.uint8)
            path = root / f"ref{ref}__crop__{k}.png"
            Image.fromarray(image).save(path)
            samples.append(TrainSample(path=path, label=0))
    return samples


@pytest.fixture(scope="module")
def photos(tmp_path_factory: pytest.TempPathFactory) -> list[TrainSample]:
    return write_photos(tmp_path_factory.mktemp("photos"))


@pytest.fixture(scope="module")
def target_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Six 40 px grayscale 'scans': a bright disc of varying radius on black."""
    folder = tmp_path_factory.mktemp("targets")
    yy, xx = np.mgrid[:40, :40]
    for index in range(6):
        disc = ((yy - 20) ** 2 + (xx - 20) ** 2 < (8 + 2 * index) ** 2) * (120 + 20 * index)
        Image.fromarray(disc.astype(np.uint8)).save(folder / f"scan{index}.png")
    return folder


def folder_config(folder: Path, **mixup: object) -> TrainConfig:
    return TrainConfig.from_dict(
        {
            "crop_size": 32,
            "batch_size": 4,
            "epochs": 1,
            "lr": 0.01,
            "mixup": {"target": "folder", "path": str(folder), **mixup},
        }
    )


# --- loss and mixing -------------------------------------------------------------------------------------------


def test_mixup_loss__hand_computed() -> None:
    reconstruction = torch.tensor([0.5, 1.0, 0.0, 0.25]).view(1, 1, 2, 2)
    target = torch.tensor([0.0, 1.0, 0.5, 0.25]).view(1, 1, 2, 2)
    # rec MSE = (0.25 + 0 + 0.25 + 0) / 4 = 0.125; alpha MSE = (0.1^2 + 0.3^2) / 2 = 0.05
    loss = mixup_loss(
        reconstruction,
        target,
        torch.tensor([0.4, 0.9]),
        torch.tensor([0.5, 0.6]),
        reconstruction_weight=2.0,
        transparency_weight=3.0,
    )
    assert loss.item() == pytest.approx(2.0 * 0.125 + 3.0 * 0.05)


def test_mixup_loss__rejects_mismatched_shapes() -> None:
    with pytest.raises(ValueError, match="reconstruction"):
        mixup_loss(torch.zeros(1, 3, 2, 2), torch.zeros(1, 3, 2, 3), torch.zeros(1), torch.zeros(1),
                   reconstruction_weight=1.0, transparency_weight=1.0)  # fmt: skip


def test_mix__alpha_weights_the_target() -> None:
    target = torch.full((2, 3, 2, 2), 255, dtype=torch.uint8)
    other = torch.zeros((2, 3, 2, 2), dtype=torch.uint8)
    mixed = mix(target, other, torch.tensor([0.25, 0.8]))
    assert mixed[0].unique().tolist() == [0.25] and mixed[1].unique().tolist() == [pytest.approx(0.8)]


def test_heads__every_trainable_part_gets_gradient() -> None:
    method = build_mixup(TrainConfig(crop_size=32, seed=0))
    target = torch.randint(0, 256, (4, 3, 32, 32), dtype=torch.uint8)
    other = torch.randint(0, 256, (4, 3, 32, 32), dtype=torch.uint8)
    loss = method.training_step((target, other, torch.tensor([0.1, 0.4, 0.6, 0.9])))
    loss.backward()
    for part in ("encoder", "decoder", "alpha_head"):
        named = list(getattr(method, part).named_parameters())
        assert named, part
        dead = [name for name, p in named if p.grad is None or not torch.any(p.grad != 0)]
        assert not dead, f"{part}: no gradient in {dead}"
    with torch.no_grad():
        reconstruction, alpha = method.heads(mix(target, other, torch.full((4,), 0.5)))
    assert reconstruction.shape == (4, 3, 32, 32) and alpha.shape == (4,)
    assert (
        float(reconstruction.min()) >= 0
        and float(reconstruction.max()) <= 1
        and bool(((alpha > 0) & (alpha < 1)).all())
    )


# --- config ----------------------------------------------------------------------------------------------------


def test_config__mixup_section_is_validated_and_serialisable(target_folder: Path) -> None:
    config = folder_config(target_folder, alpha_range=[0.2, 0.7], transparency_weight=4)
    assert config.mixup == MixupConfig(
        target="folder", path=str(target_folder), alpha_range=(0.2, 0.7), transparency_weight=4
    )
    assert json.loads(json.dumps(asdict(config)))["mixup"]["alpha_range"] == [0.2, 0.7]
    assert TrainConfig().mixup is None and TrainConfig().mixup_settings == MixupConfig()


@pytest.mark.parametrize(
    ("values", "key"),
    [
        ({"target": "ct"}, "train.mixup.target"),
        ({"target": "folder"}, "train.mixup.path"),
        ({"alpha_range": [0.6, 0.4]}, "train.mixup.alpha_range"),
        ({"alpha_range": [0.1, 1.5]}, "train.mixup.alpha_range"),
        ({"alpha_range": [0.1]}, "train.mixup.alpha_range"),
        ({"reconstruction_weight": -1}, "train.mixup.reconstruction_weight"),
        ({"reconstruction_weight": 0, "transparency_weight": 0}, "train.mixup.transparency_weight"),
        ({"held_out": 0.95}, "train.mixup.held_out"),
        ({"slices_per_axis": 0}, "train.mixup.slices_per_axis"),
        ({"held_out_mixes": 1}, "train.mixup.held_out_mixes"),
        ({"alpha": 0.5}, "train.mixup key"),
    ],
)
def test_config__errors_name_the_key(values: dict, key: str) -> None:
    with pytest.raises(ValueError, match=key.replace(".", r"\.")):
        TrainConfig.from_dict({"mixup": values})


def test_checkpoint_key__unchanged_without_mixup_and_sensitive_to_it(photos: list[TrainSample]) -> None:
    config = TrainConfig()
    unset = (*RESUMABLE_KEYS, "mixup", "continue_from_checkpoint")  # absent when unset: keys as before they existed
    legacy = {k: v for k, v in asdict(config).items() if k not in unset}
    payload = json.dumps({"method": "simclr", "config": legacy, "data": samples_fingerprint(photos)}, sort_keys=True)
    assert checkpoint_key("simclr", config, photos) == hashlib.sha256(payload.encode()).hexdigest()[:12]
    first = checkpoint_key("mixup", TrainConfig.from_dict({"mixup": {}}), photos)
    assert first != checkpoint_key("mixup", TrainConfig.from_dict({"mixup": {"transparency_weight": 2.0}}), photos)


# --- slices ----------------------------------------------------------------------------------------------------


def test_volume_slices__foreground_filter_spacing_and_orientation() -> None:
    volume = np.zeros((10, 12, 14), dtype=np.float32)
    volume[2:8, 3:9, 4:10] = 0.8
    volume[2, 3, 4] = 1.7  # clipped
    slices = volume_slices(volume, source="box", per_axis=3, min_foreground=0.2)
    by_axis = {axis: [s.index for s in slices if s.axis == axis] for axis in ("sagittal", "coronal", "axial")}
    assert by_axis == {"sagittal": [2, 4, 7], "coronal": [3, 5, 8], "axial": [4, 6, 9]}
    sagittal = slices[0]
    assert sagittal.image.shape == (14, 12) and sagittal.image.max() == 1.0 and sagittal.name == "box_sagittal_002"
    np.testing.assert_array_equal(sagittal.image, np.rot90(np.clip(volume[2], 0, 1)))
    assert volume_slices(volume, source="box", per_axis=3, min_foreground=0.5) == []
    with pytest.raises(ValueError, match="unknown slice axis"):
        volume_slices(volume, source="box", per_axis=1, axes=("oblique",))


def test_demo_mri_slices__bundled_volumes_in_unit_range(tmp_path: Path) -> None:
    slices = demo_mri_slices(2, volumes=["mni152_t1"])
    assert [(s.axis, s.source) for s in slices] == [
        (a, "mni152_t1") for a in ("sagittal", "sagittal", "coronal", "coronal", "axial", "axial")
    ]
    assert all(s.image.dtype == np.float32 and s.image.min() >= 0 and s.image.max() <= 1 for s in slices)
    assert all(min(s.image.shape) >= 80 and (s.image > 0.1).mean() >= 0.15 for s in slices)
    paths = write_slice_pngs(slices[:2], tmp_path / "pngs")
    back = folder_images(tmp_path / "pngs")
    assert [p.stem for p in paths] == [s.source for s in back]
    np.testing.assert_allclose(back[0].image, slices[0].image, atol=1 / 255)
    with pytest.raises(ValueError, match="unknown demo volume"):
        demo_mri_slices(1, volumes=["brain"])


def test_folder_images__missing_folder_names_it(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="nowhere"):
        folder_images(tmp_path / "nowhere")


# --- data ------------------------------------------------------------------------------------------------------


def test_split__whole_references_held_out(photos: list[TrainSample], target_folder: Path) -> None:
    assert photo_reference(Path("a/astronaut__jpeg__3.png")) == "astronaut"
    groups = ["a", "a", "b", "c", "c", "d"]
    train, held = split_groups(groups, 0.5, seed=0, what="refs")
    assert sorted(train + held) == list(range(6))
    assert len({groups[i] for i in held}) == 2 and not {groups[i] for i in held} & {groups[i] for i in train}
    domains = mixup_domains(photos, folder_config(target_folder, held_out=0.2))
    train_refs = {photo_reference(p) for p in domains.train_photos}
    held_refs = {photo_reference(p) for p in domains.held_out_photos}
    assert len(held_refs) == 2 and len(train_refs) == 8 and not train_refs & held_refs
    assert len(domains.held_out_targets) == 1 and len(domains.train_targets) == 5
    none_held = mixup_domains(photos, folder_config(target_folder, held_out=0))
    assert len(none_held.train_photos) == len(photos) and not none_held.held_out_targets
    assert held_out_pairs(photos, folder_config(target_folder, held_out=0)) == []
    with pytest.raises(ValueError, match="at least 2 photo references"):
        split_groups(["a", "a"], 0.2, seed=0, what="photo references")


def test_pairs__deterministic_per_key_and_alpha_in_range(photos: list[TrainSample], target_folder: Path) -> None:
    config = folder_config(target_folder, alpha_range=[0.3, 0.6])
    dataset = METHODS["mixup"].make_dataset(photos, config)
    assert isinstance(dataset, MixupPairs) and len(dataset) == 16
    first, again, other = dataset[(3, 11)], dataset[(3, 11)], dataset[(3, 12)]
    assert all(torch.equal(a, b) for a, b in zip(first, again, strict=True))
    assert not torch.equal(first[0], other[0]) or not torch.equal(first[1], other[1])
    target, photo, _ = first
    assert target.shape == photo.shape == (3, 32, 32) and target.dtype == photo.dtype == torch.uint8
    assert torch.equal(target[0], target[1]), "gray target replicated to 3 channels"
    alphas = torch.stack([dataset[(0, seed)][2] for seed in range(50)])
    assert float(alphas.min()) >= 0.3 and float(alphas.max()) <= 0.6 and float(alphas.std()) > 0.05


def test_transparency_srcc__perfect_and_reversed_predictors(photos: list[TrainSample], target_folder: Path) -> None:
    pairs = held_out_pairs(photos, folder_config(target_folder, held_out_mixes=20))
    assert len(pairs) == 20

    class Oracle(torch.nn.Module):
        """Reads alpha back from the first pixel of a known pair (white target, black photo)."""

        def __init__(self, sign: float) -> None:
            super().__init__()
            self.sign = torch.nn.Parameter(torch.tensor(sign))

        def predict_alpha(self, mixed: torch.Tensor) -> torch.Tensor:
            return self.sign * mixed[:, 0, 0, 0]

    white_black = [
        (torch.full((3, 4, 4), 255, dtype=torch.uint8), torch.zeros(3, 4, 4, dtype=torch.uint8), a) for *_, a in pairs
    ]
    assert transparency_srcc(Oracle(1.0), white_black) == pytest.approx(1.0)  # type: ignore[arg-type]
    assert transparency_srcc(Oracle(-1.0), white_black) == pytest.approx(-1.0)  # type: ignore[arg-type]


# --- training --------------------------------------------------------------------------------------------------


def test_train__short_cpu_run_is_deterministic(photos: list[TrainSample], target_folder: Path, tmp_path: Path) -> None:
    config = folder_config(target_folder)
    runs = []
    for name in ("a", "b"):
        history = train_method(
            METHODS["mixup"],
            photos,
            config,
            checkpoint_dir=tmp_path / name / "ckpt",
            encoder_out=tmp_path / name / "encoder.pt",
            device=torch.device("cpu"),
            threads=1,
        )
        runs.append((history[-1]["loss"], torch.load(tmp_path / name / "ckpt" / "last.pt", weights_only=True)["model"]))
    (loss_a, state_a), (loss_b, state_b) = runs
    assert loss_a == loss_b and np.isfinite(loss_a)
    assert state_a.keys() == state_b.keys() and all(torch.equal(state_a[k], state_b[k]) for k in state_a)
    assert any(k.startswith("decoder.") for k in state_a) and any(k.startswith("alpha_head.") for k in state_a)
    encoder, payload = load_encoder(tmp_path / "a" / "encoder.pt")
    assert payload["method"] == "mixup" and encoder.arch == "resnet18"
