"""CONTRIQUE's patch projections, training step and registry entry."""

from __future__ import annotations

import pytest
import torch
from torch import Tensor, nn
from torch.nn.functional import normalize

from perceptflow.models import build_encoder
from perceptflow.ssl import METHODS, ContriqueLoss, ContriqueModel, TrainConfig
from perceptflow.ssl.contrique import ContriqueMethod, build_contrique


@pytest.fixture(scope="module")
def model() -> ContriqueModel:
    return ContriqueModel(build_encoder("resnet18", seed=0), projection_dim=16)


def test_projector__is_contriques_head(model: ContriqueModel) -> None:
    layers = list(model.projector)
    assert [type(layer) for layer in layers] == [nn.Linear, nn.BatchNorm1d, nn.ReLU, nn.Linear, nn.BatchNorm1d]
    assert (layers[0].in_features, layers[0].out_features, layers[3].out_features) == (512, 512, 16)
    assert layers[0].bias is None and layers[3].bias is None


def test_forward__four_patch_projections_per_image(model: ContriqueModel) -> None:
    assert model.train()(torch.rand(3, 3, 64, 64)).shape == (12, 16)


def test_patch_vectors__unit_quadrants_in_row_major_order(model: ContriqueModel) -> None:
    images = torch.rand(2, 3, 128, 128)  # 4x4 map: each patch averages a 2x2 quadrant
    model.eval()
    with torch.no_grad():
        patches = model.patch_vectors(images)
        feature_map = model.encoder(images)
    quadrants = [feature_map[:, :, r : r + 2, c : c + 2].mean(dim=(2, 3)) for r in (0, 2) for c in (0, 2)]
    expected = normalize(torch.stack(quadrants, dim=1).reshape(-1, 512), dim=1)
    torch.testing.assert_close(patches, expected)
    torch.testing.assert_close(patches.norm(dim=1), torch.ones(8))


class _SpyLoss(nn.Module):
    def forward(self, z: Tensor, labels: Tensor) -> Tensor:
        self.labels = labels
        return z.square().mean()


def test_training_step__labels_repeat_over_patches_then_views(model: ContriqueModel) -> None:
    spy = _SpyLoss()
    method = ContriqueMethod(model.train(), spy)  # type: ignore[arg-type]
    views = torch.randint(0, 256, (2, 3, 32, 32), dtype=torch.uint8)
    labels = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    method.training_step([views, views, labels])
    expected = torch.tensor([[1.0, 0.0]] * 4 + [[0.0, 1.0]] * 4)
    torch.testing.assert_close(spy.labels, torch.cat([expected, expected]))


def test_training_step__gradient_reaches_every_parameter() -> None:
    method = build_contrique(TrainConfig(crop_size=32, projection_dim=8)).train()
    views = torch.randint(0, 256, (4, 3, 32, 32), dtype=torch.uint8)
    labels = torch.eye(2).repeat(2, 1)
    method.training_step([views, views.flip(-1), labels]).backward()
    without = [name for name, p in method.named_parameters() if p.grad is None or not p.grad.abs().sum() > 0]
    assert without == []


def test_build__uses_config_and_seed() -> None:
    config = TrainConfig(arch="resnet34", projection_dim=32, temperature=0.3, seed=7)
    method = build_contrique(config)
    assert method.encoder.arch == "resnet34" and method.model.projector[-1].num_features == 32
    assert isinstance(method.loss, ContriqueLoss) and method.loss.temperature == 0.3
    reference = build_encoder("resnet34", seed=7).state_dict()["trunk.conv1.weight"]
    assert torch.equal(method.encoder.state_dict()["trunk.conv1.weight"], reference)


def test_registry__names_match_and_descriptions_are_one_line() -> None:
    assert list(METHODS) == ["contrique", "simclr", "mixup"]
    for name, spec in METHODS.items():
        assert spec.name == name
        assert spec.description and "\n" not in spec.description
