"""ResNet encoders and CONTRIQUE's two-scale pooled features."""

from __future__ import annotations

import pytest
import torch
from torch.nn.functional import interpolate, normalize

from perceptflow.models import ARCHS, Encoder, build_encoder, pick_device, pooled_features


@pytest.mark.parametrize("arch", sorted(ARCHS))
def test_encoder__map_has_archs_channels_and_stride_32(arch: str) -> None:
    encoder = build_encoder(arch, seed=0).eval()
    with torch.no_grad():
        feature_map = encoder(torch.rand(2, 3, 64, 96))
    assert isinstance(encoder, Encoder) and encoder.arch == arch
    assert encoder.feature_dim == ARCHS[arch]
    assert feature_map.shape == (2, ARCHS[arch], 2, 3)


def test_encoder__has_no_pool_or_classifier_and_torchvision_names() -> None:
    encoder = build_encoder("resnet18")
    names = [name for name, _ in encoder.trunk.named_children()]
    assert names == ["conv1", "bn1", "relu", "maxpool", "layer1", "layer2", "layer3", "layer4"]


def test_encoder__rejects_non_rgb_batches() -> None:
    with pytest.raises(ValueError, match=r"expects images shaped \(B, 3, H, W\), got \(1, 1, 32, 32\)"):
        build_encoder("resnet18")(torch.rand(1, 1, 32, 32))


def test_build_encoder__unknown_arch_names_the_choices() -> None:
    with pytest.raises(ValueError, match=r"unknown encoder arch 'resnet19'.*resnet18, resnet34, resnet50"):
        build_encoder("resnet19")


def test_build_encoder__seed_fixes_weights_and_leaves_global_rng_alone() -> None:
    before = torch.get_rng_state()
    first, second = build_encoder(seed=3), build_encoder(seed=3)
    other = build_encoder(seed=4)
    assert torch.equal(torch.get_rng_state(), before), "global RNG untouched"
    weight = "trunk.conv1.weight"
    assert torch.equal(first.state_dict()[weight], second.state_dict()[weight]), "same seed, same weights"
    assert not torch.equal(first.state_dict()[weight], other.state_dict()[weight])


def test_pooled_features__two_unit_halves_of_resnet18_width() -> None:
    encoder = build_encoder("resnet18", seed=0)
    features = pooled_features(encoder, torch.rand(3, 3, 64, 80))
    assert features.shape == (3, 1024) and features.dtype == torch.float32
    assert not features.requires_grad
    torch.testing.assert_close(features[:, :512].norm(dim=1), torch.ones(3))
    torch.testing.assert_close(features[:, 512:].norm(dim=1), torch.ones(3))


def test_pooled_features__full_then_half_scale_and_mode_restored() -> None:
    encoder = build_encoder("resnet18", seed=0).train()
    images = torch.rand(2, 3, 66, 70)
    features = pooled_features(encoder, images)
    assert encoder.training, "train mode restored"
    encoder.eval()
    with torch.no_grad():
        half = interpolate(images, size=(33, 35), mode="bilinear", antialias=True, align_corners=False)
        expected_full = normalize(encoder(images).mean(dim=(2, 3)), dim=1)
        expected_half = normalize(encoder(half).mean(dim=(2, 3)), dim=1)
    torch.testing.assert_close(features, torch.cat([expected_full, expected_half], dim=1))


@pytest.mark.parametrize(
    ("images", "message"),
    [(torch.rand(2, 1, 32, 32), r"\(B, 3, H>=2, W>=2\)"), (torch.zeros(2, 3, 8, 8, dtype=torch.uint8), "float")],
)
def test_pooled_features__rejects_bad_images(images: torch.Tensor, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        pooled_features(build_encoder("resnet18"), images)


def test_pick_device__auto_cpu_and_errors() -> None:
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert pick_device().type == expected
    assert pick_device("cpu") == torch.device("cpu")
    with pytest.raises(ValueError, match="unknown device 'tpu'"):
        pick_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(RuntimeError, match="'cuda' requested but CUDA is not available"):
            pick_device("cuda")
