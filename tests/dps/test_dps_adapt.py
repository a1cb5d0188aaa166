"""DPS adaptation (Pihlgren et al., arXiv 2304.02265): variants, judge, training loop and 2AFC scoring, tiny scale."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from perceptflow.distortions.dps.contexts import make_rankings
from perceptflow.dps.adapt import adapt
from perceptflow.dps.judge import JudgeNet
from perceptflow.dps.triplets import Triplets, make_triplet_set, score_pooled, score_triplets
from perceptflow.metric.distance import PerceptualDistance
from perceptflow.metric.variants import VARIANTS
from perceptflow.models import build_encoder
from perceptflow.models.encoder_file import encoder_from_weights

LAYERS = ("layer1", "layer2")


def _images(count: int, seed: int) -> list[np.ndarray]:
    """Smooth colour fields with a sharp-edged rectangle and mild noise, 64x64 uint8."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(count):
        coarse = rng.uniform(0, 255, (8, 8, 3)).astype(np.uint8)
        base = np.asarray(Image.fromarray(coarse).resize((64, 64), Image.Resampling.BICUBIC), dtype=np.float64)
        y, x = np.mgrid[:64, :64]
        cy, cx = rng.uniform(8, 40, 2)
        base[(y < cy) & (x < cx)] = rng.uniform(0, 255, 3)
        out.append(np.clip(base + rng.normal(0, 10, base.shape), 0, 255).astype(np.uint8))
    return out


@pytest.fixture(scope="module")
def encoder():
    return build_encoder("resnet18", seed=0)


@pytest.fixture(scope="module")
def triplets() -> Triplets:
    ranking = make_rankings(1, seed=1)[0]
    return make_triplet_set(_images(32, seed=1), ranking, seed=2)


def _trainable(metric: PerceptualDistance) -> set[str]:
    return {name for name, param in metric.named_parameters() if param.requires_grad}


def test_variants_train_exactly_the_right_parameters(encoder) -> None:
    backbone = {f"backbone.{name}" for name, _ in encoder.named_parameters()}
    lins = {f"lins.{layer}.1.weight" for layer in LAYERS}
    expected = {"baseline": set(), "lin": lins, "tune": backbone | lins, "scratch": backbone | lins}
    for variant in VARIANTS:
        metric = PerceptualDistance(variant, encoder, layers=LAYERS, seed=0)
        assert _trainable(metric) == expected[variant], variant
        names = {name for name, _ in metric.named_parameters()}
        assert names == (backbone if variant == "baseline" else backbone | lins)
    assert all(param.requires_grad for param in encoder.parameters())  # the given encoder is copied, not frozen


def test_pretrained_variants_copy_weights_and_scratch_reinitialises(encoder) -> None:
    weight = encoder.trunk.conv1.weight
    assert torch.equal(PerceptualDistance("tune", encoder, layers=LAYERS).backbone.trunk.conv1.weight, weight)
    scratch = PerceptualDistance("scratch", encoder, layers=LAYERS, seed=1)
    assert not torch.equal(scratch.backbone.trunk.conv1.weight, weight)
    assert scratch.backbone.arch == encoder.arch


def test_frozen_variants_keep_backbone_in_eval_mode(encoder) -> None:
    for variant, frozen in (("baseline", True), ("lin", True), ("tune", False)):
        metric = PerceptualDistance(variant, encoder, layers=LAYERS).train()
        assert metric.backbone.training is not frozen, variant


def test_unknown_variant_and_missing_encoder_raise(encoder) -> None:
    with pytest.raises(ValueError, match="baseline, lin, tune, scratch"):
        PerceptualDistance("linear", encoder)
    with pytest.raises(ValueError, match="pretrained encoder"):
        PerceptualDistance("lin")
    with pytest.raises(ValueError, match="layers"):
        PerceptualDistance("lin", encoder, layers=("layer9",))


def test_distance_is_zero_on_identical_images_and_symmetric(encoder) -> None:
    generator = torch.Generator().manual_seed(0)
    x0, x1 = torch.rand(2, 3, 3, 64, 64, generator=generator)
    for variant in ("baseline", "lin"):
        metric = PerceptualDistance(variant, encoder, layers=LAYERS).eval()
        with torch.no_grad():
            assert torch.allclose(metric(x0, x0), torch.zeros(3), atol=1e-6)
            d01, d10 = metric(x0, x1), metric(x1, x0)
        assert d01.shape == (3,) and torch.all(d01 > 0)
        assert torch.allclose(d01, d10, rtol=1e-5)


def test_untrained_lin_equals_baseline(encoder) -> None:
    x0, x1 = torch.rand(2, 2, 3, 64, 64, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        base = PerceptualDistance("baseline", encoder, layers=LAYERS).eval()(x0, x1)
        lin = PerceptualDistance("lin", encoder, layers=LAYERS).eval()(x0, x1)
    assert torch.allclose(base, lin, rtol=1e-5)


def test_judge_net_outputs_probabilities() -> None:
    torch.manual_seed(0)
    judge = JudgeNet()
    d0, d1 = torch.rand(7) * 3, torch.rand(7) * 3
    out = judge(d0, d1)
    assert out.shape == (7,)
    assert torch.all((out > 0) & (out < 1))
    assert judge(torch.zeros(2), torch.zeros(2)).shape == (2,)


def test_triplet_set_is_seeded(triplets) -> None:
    ranking = make_rankings(1, seed=1)[0]
    again = make_triplet_set(_images(32, seed=1), ranking, seed=2)
    assert len(triplets) == 32 and triplets.ref.shape == (32, 3, 64, 64)
    assert triplets.ref.dtype == torch.float32 and 0 <= float(triplets.p0.min()) <= float(triplets.p0.max()) <= 1
    assert set(triplets.judge.tolist()) == {0.0, 1.0}
    assert torch.equal(again.p1, triplets.p1) and torch.equal(again.judge, triplets.judge)


def test_weights_stay_non_negative_after_steps(encoder, triplets) -> None:
    metric = PerceptualDistance("lin", encoder, layers=LAYERS)
    small = triplets.subset(slice(0, 8))
    adapt(metric, JudgeNet(), small, epochs=2, lr=5.0, batch_size=4, seed=0)  # steps big enough to cross zero
    weights = torch.cat([lin[1].weight.flatten() for lin in metric.lins.values()])
    assert torch.all(weights >= 0)
    assert torch.any(weights == 0)  # some were clamped
    assert torch.any(weights != 1)  # and they moved


def test_adapt_lowers_training_bce_and_is_seeded(encoder, triplets) -> None:
    """Training BCE falls at tiny scale; the held-out gain is tested on pooled differences below."""
    histories = []
    for _ in range(2):
        torch.manual_seed(0)
        metric, judge = PerceptualDistance("lin", encoder, layers=LAYERS), JudgeNet()
        histories.append(adapt(metric, judge, triplets, epochs=3, batch_size=8, seed=0, sync_loss=False))
    history = histories[0]
    assert [row["epoch"] for row in history] == [0.0, 1.0, 2.0]
    assert history[-1]["bce"] < history[0]["bce"]
    assert histories[0] == histories[1]
    score = score_triplets(metric, triplets)
    assert 0.0 <= score <= 1.0


def test_adapt_lr_decay_and_sync_loss(encoder, triplets) -> None:
    metric = PerceptualDistance("baseline", encoder, layers=LAYERS)
    history = adapt(metric, JudgeNet(), triplets.subset(slice(0, 8)), epochs=3, batch_size=8, seed=0, decay_epochs=2)
    assert [row["lr"] for row in history] == pytest.approx([1e-3, 1e-3, 5e-4])
    assert all(0.0 <= row["sync_fraction"] <= 1.0 for row in history)
    with pytest.raises(ValueError):
        adapt(metric, JudgeNet(), triplets, epochs=0)


def _groups(optimiser: torch.optim.Optimizer) -> list[tuple[float, set[int]]]:
    """(lr, parameter ids) per parameter group, highest lr first."""
    groups = [(group["lr"], {id(p) for p in group["params"]}) for group in optimiser.param_groups]
    return sorted(groups, key=lambda group: -group[0])


def test_backbone_trains_in_its_own_parameter_group_at_backbone_lr(encoder, triplets, monkeypatch) -> None:
    """tune: the trunk in a group at backbone_lr, the 1x1 weights at lr; the decay scales both; lin unchanged."""
    created: list[torch.optim.Adam] = []
    real_adam = torch.optim.Adam

    def recording_adam(*args, **kwargs):
        created.append(real_adam(*args, **kwargs))
        return created[-1]

    monkeypatch.setattr(torch.optim, "Adam", recording_adam)
    metric = PerceptualDistance("tune", encoder, layers=LAYERS)
    backbone = {id(p) for p in metric.backbone.parameters()}
    lins = {id(p) for p in metric.lins.parameters()}
    history = adapt(
        metric, JudgeNet(), triplets.subset(slice(0, 8)), epochs=3, lr=0.1, backbone_lr=1e-4, batch_size=8,
        decay_epochs=2,
    )  # fmt: skip
    judge_optimiser, metric_optimiser = created
    assert all(group["lr"] == pytest.approx(0.05) for group in judge_optimiser.param_groups)
    (weights_lr, weights_ids), (trunk_lr, trunk_ids) = _groups(metric_optimiser)  # exactly two groups
    assert weights_ids == lins and weights_lr == pytest.approx(0.05)  # lr 0.1, halved by the decay
    assert trunk_ids == backbone and trunk_lr == pytest.approx(5e-5)  # backbone_lr 1e-4, halved too
    assert [row["lr"] for row in history] == pytest.approx([0.1, 0.1, 0.05])
    assert [row["backbone_lr"] for row in history] == pytest.approx([1e-4, 1e-4, 5e-5])

    created.clear()
    lin_history = adapt(PerceptualDistance("lin", encoder, layers=LAYERS), JudgeNet(), triplets, 1, backbone_lr=1e-4)
    assert len(created[1].param_groups) == 1 and "backbone_lr" not in lin_history[0]


def test_backbone_lr_sets_the_size_of_the_first_trunk_update(encoder, triplets) -> None:
    """Adam's first step moves every parameter with a gradient by about its group's lr: the trunk by backbone_lr."""
    small = triplets.subset(slice(0, 8))
    for backbone_lr in (1e-5, 1e-3):
        metric = PerceptualDistance("tune", encoder, layers=LAYERS, dropout=0.0)
        before = metric.backbone.trunk.conv1.weight.detach().clone()
        adapt(metric, JudgeNet(), small, epochs=1, lr=0.1, backbone_lr=backbone_lr, batch_size=8)
        step = (metric.backbone.trunk.conv1.weight.detach() - before).abs().max()
        assert backbone_lr * 0.5 < step < backbone_lr * 1.5, backbone_lr
        assert torch.all(torch.cat([lin[1].weight.flatten() for lin in metric.lins.values()]) != 1.0)  # lr 0.1 moved
    default = PerceptualDistance("tune", encoder, layers=LAYERS)
    before = default.backbone.trunk.conv1.weight.detach().clone()
    adapt(default, JudgeNet(), small, epochs=1, lr=2e-3, batch_size=8)  # backbone_lr None: same as lr
    step = (default.backbone.trunk.conv1.weight.detach() - before).abs().max()
    assert 1e-3 < step < 3e-3
    for bad in (0.0, -1e-4):
        with pytest.raises(ValueError, match="backbone_lr"):
            adapt(default, JudgeNet(), small, epochs=1, backbone_lr=bad)


def test_encoder_from_local_weights_file(tmp_path, encoder) -> None:
    import torchvision

    resnet = torchvision.models.resnet18(weights=None)
    path = tmp_path / "resnet18.pt"
    torch.save(resnet.state_dict(), path)
    loaded = encoder_from_weights(path, "resnet18")
    assert torch.equal(loaded.trunk.conv1.weight, resnet.conv1.weight)
    with pytest.raises(FileNotFoundError):
        encoder_from_weights(tmp_path / "missing.pt")


def _synthetic_pooled(n: int, seed: int) -> tuple[tuple[dict, dict], torch.Tensor]:
    """Pooled layer1 differences (64 channels) where 8 channels carry the context's order and 56 are louder noise.

    The channel sum (the untrained metric) is dominated by the noise, so it is only a little better than chance;
    weighting the signal channels up and the noise down orders almost every triplet correctly.
    """
    generator = torch.Generator().manual_seed(seed)
    judge = torch.randint(0, 2, (n,), generator=generator).float()
    signal = torch.rand(2, n, 8, generator=generator) * 0.02
    closer = torch.where(judge[:, None] == 1.0, signal[0], signal[1])  # the image judged closer: smaller signal
    farther = torch.where(judge[:, None] == 1.0, signal[1], signal[0]) + 0.02
    d_p0 = torch.where(judge[:, None] == 0.0, closer, farther)
    d_p1 = torch.where(judge[:, None] == 0.0, farther, closer)
    noise = torch.rand(2, n, 56, generator=generator) * 0.1
    return ({"layer1": torch.cat([d_p0, noise[0]], 1)}, {"layer1": torch.cat([d_p1, noise[1]], 1)}), judge


@pytest.fixture
def one_thread():
    """Steps on pooled differences are tiny ops; on a loaded shared CPU, thread hand-offs dominate them (10x)."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def _placeholder_triplets(judge: torch.Tensor) -> Triplets:
    blank = torch.zeros(len(judge), 3, 1, 1)
    return Triplets(blank, blank, blank, judge)


def test_adaptation_beats_the_untrained_metric_on_held_out_triplets(encoder, one_thread) -> None:
    """Train / validation / held-out sets drawn independently; the best epoch is chosen on validation only."""
    (train, h_train), (val, h_val), (test, h_test) = (
        _synthetic_pooled(n, s) for n, s in ((600, 0), (200, 1), (200, 2))
    )
    untrained = PerceptualDistance("baseline", encoder, layers=("layer1",))
    before = score_pooled(untrained, test, h_test)
    assert 0.5 < before < 0.75  # non-trivial: better than chance, far from solved
    torch.manual_seed(0)
    metric, judge = PerceptualDistance("lin", encoder, layers=("layer1",)), JudgeNet()
    history = adapt(
        metric, judge, _placeholder_triplets(h_train), 15, lr=0.1, batch_size=64, seed=0, sync_epochs=15,
        validation=_placeholder_triplets(h_val), pooled=train, val_pooled=val,
    )  # fmt: skip
    after = score_pooled(metric, test, h_test)
    assert after > before + 0.15
    weights = metric.lins["layer1"][1].weight.flatten()
    assert weights[:8].mean() > 2 * weights[8:].mean()  # the signal channels gained weight over the noise
    selected = [row for row in history if row["selected"] == 1.0]
    assert len(selected) == 1 and selected[0]["val_2afc"] == max(row["val_2afc"] for row in history)
    assert score_pooled(metric, val, h_val) == pytest.approx(selected[0]["val_2afc"])  # the chosen state is kept


def test_judge_warmup_and_sync_epochs(encoder, one_thread) -> None:
    (train, h_train) = _synthetic_pooled(64, 3)
    metric = PerceptualDistance("lin", encoder, layers=("layer1",))
    history = adapt(
        metric, JudgeNet(), _placeholder_triplets(h_train), 3, lr=0.1, batch_size=16, seed=0, sync_epochs=2,
        judge_warmup_epochs=3, sync_loss=False, pooled=train,
    )  # fmt: skip
    assert [row["sync_fraction"] for row in history] == [1.0, 1.0, 0.0]
    assert torch.all(metric.lins["layer1"][1].weight == 1.0)  # only the judge trained
    with pytest.raises(ValueError, match="frozen backbone"):
        adapt(
            PerceptualDistance("tune", encoder, layers=LAYERS),
            JudgeNet(),
            _placeholder_triplets(h_train),
            1,
            pooled=train,
        )
