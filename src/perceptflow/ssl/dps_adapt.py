"""DPS adaptation: an LPIPS-style distance over a perceptflow encoder, trained on a ranking context.

Follows Pihlgren et al., "Deep Perceptual Similarity is Adaptable to Ambiguous Contexts" (arXiv 2304.02265) and
its LPIPS-derived code (METHODS.md §5.1): channel-unit-normalised features of chosen ResNet stages, squared
difference, a non-negative learned 1x1 conv per layer (or a plain channel sum for ``baseline``), spatial mean,
sum over layers; trained with BCE through the LPIPS "large" judge network on (ref, p0, p1, judge) triplets, and
scored by 2AFC (METHODS.md §6.2). "Pretrained" means a perceptflow encoder (`load_encoder`) or a local
torchvision weights file (`encoder_from_weights`); nothing is downloaded.
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor, nn
from torch.nn.functional import binary_cross_entropy

from perceptflow.distortions.dps import DPS_SIZE, make_triplet, resize_for_dps
from perceptflow.evaluate import score_2afc
from perceptflow.models import Encoder, build_encoder

#: The DPS metric variants: what trains in each.
VARIANTS: dict[str, str] = {
    "baseline": "given encoder, frozen; channel sum, nothing trains",
    "lin": "given encoder, frozen; non-negative 1x1 layer weights train",
    "tune": "given encoder and 1x1 layer weights both train",
    "scratch": "randomly initialised encoder and 1x1 layer weights both train",
}
#: Default stages of the ResNet trunk whose outputs are compared (DPS uses resnet18 blocks [2, 4, 5, 7]).
DEFAULT_LAYERS: tuple[str, ...] = ("layer1", "layer2", "layer3", "layer4")
#: Small constant of the channel normalisation and of the judge's ratio features (as LPIPS).
_NORM_EPS = 1e-10
_RATIO_EPS = 0.1


def check_variant(variant: str) -> None:
    """Raise ValueError naming the valid variants when ``variant`` is not one of them."""
    if variant not in VARIANTS:
        raise ValueError(f"unknown DPS variant {variant!r}; choose one of: {', '.join(VARIANTS)}")


def encoder_from_weights(path: str | Path, arch: str = "resnet18") -> Encoder:
    """A perceptflow `Encoder` from a local torchvision ResNet state-dict file (``fc.*`` keys are dropped).

    Accepts either torchvision's key layout (``conv1.weight``, ...) or the encoder's own (``trunk.conv1.weight``).

    Raises:
        FileNotFoundError: no such file.
        RuntimeError: the weights do not fit ``arch``.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no weights file at {path}")
    state = torch.load(path, map_location="cpu", weights_only=True)
    state = {key: value for key, value in state.items() if not key.startswith("fc.")}
    state = {key if key.startswith("trunk.") else f"trunk.{key}": value for key, value in state.items()}
    encoder = build_encoder(arch)
    encoder.load_state_dict(state, strict=True)
    return encoder


def _channel_normalise(features: Tensor) -> Tensor:
    norm = torch.sqrt(torch.sum(features**2, dim=1, keepdim=True))
    return features / (norm + _NORM_EPS)


class PerceptualDistance(nn.Module):
    """LPIPS-style distance over chosen stages of a perceptflow ResNet encoder.

    Per layer: channel-unit-normalise both feature maps, square their difference, average over space, weight
    channels by a non-negative 1x1 conv (dropout before it) or sum them (``baseline``); sum over layers. The
    1x1 conv commutes with the spatial mean, so in eval mode this is LPIPS's order (weight, then average); in
    training, dropout drops whole channels of the pooled difference rather than single pixels.
    The 1x1 weights start at 1 (the channel sum), so an untrained ``lin`` metric equals ``baseline``.
    For ``baseline`` and ``lin`` the backbone stays in eval mode (frozen BatchNorm statistics).

    Attributes:
        variant: a key of `VARIANTS`.
        layers: names of the trunk stages compared.
        backbone: the (copied or freshly built) encoder.
        lins: per-layer ``Dropout -> Conv2d(C, 1, 1)``; empty for ``baseline``.
    """

    def __init__(
        self,
        variant: str,
        encoder: Encoder | None = None,
        *,
        arch: str | None = None,
        layers: Sequence[str] = DEFAULT_LAYERS,
        dropout: float = 0.5,
        seed: int | None = None,
    ) -> None:
        """Build the metric.

        Args:
            variant: ``baseline``, ``lin``, ``tune`` or ``scratch``.
            encoder: the pretrained encoder (required unless ``scratch``); it is deep-copied, never modified.
            arch: architecture for ``scratch`` (default: the encoder's, else ``resnet18``).
            layers: trunk stage names, in any order (``conv1``, ``bn1``, ``relu``, ``maxpool``, ``layer1``..).
            dropout: dropout probability before each 1x1 conv.
            seed: seeds the random backbone of ``scratch``.

        Raises:
            ValueError: unknown variant or layer, no layers, or no encoder for a pretrained variant.
        """
        super().__init__()
        check_variant(variant)
        if variant == "scratch":
            arch = arch or (encoder.arch if encoder is not None else "resnet18")
            backbone = build_encoder(arch, seed=seed)
        else:
            if encoder is None:
                raise ValueError(
                    f"variant {variant!r} needs a pretrained encoder (a perceptflow checkpoint via load_encoder, "
                    "or a local weights file via encoder_from_weights)"
                )
            backbone = copy.deepcopy(encoder)
        names = list(backbone.trunk._modules)
        if not layers or any(layer not in names for layer in layers):
            raise ValueError(f"layers must be a non-empty subset of {names}, got {list(layers)}")
        self.variant = variant
        self.layers = tuple(sorted(set(layers), key=names.index))
        self.backbone = backbone
        channels = self._channels()
        self.lins = nn.ModuleDict()
        if variant != "baseline":
            for layer in self.layers:
                conv = nn.Conv2d(channels[layer], 1, kernel_size=1, bias=False)
                nn.init.ones_(conv.weight)
                self.lins[layer] = nn.Sequential(nn.Dropout(dropout), conv)
        self.backbone.requires_grad_(variant in ("tune", "scratch"))
        self.train(self.training)

    def _channels(self) -> dict[str, int]:
        probe = torch.zeros(1, 3, 64, 64, device=next(self.backbone.parameters()).device)
        was_training = self.backbone.training
        self.backbone.eval()
        with torch.no_grad():
            maps = self.features(probe)
        self.backbone.train(was_training)
        return {layer: int(value.shape[1]) for layer, value in maps.items()}

    def train(self, mode: bool = True) -> PerceptualDistance:
        """Set train/eval mode; the backbone of ``baseline`` and ``lin`` always stays in eval mode."""
        super().train(mode)
        if self.variant in ("baseline", "lin"):
            self.backbone.eval()
        return self

    def features(self, images: Tensor) -> dict[str, Tensor]:
        """Outputs of the chosen trunk stages for (B, 3, H, W) float images in [0, 1]."""
        if images.ndim != 4 or images.shape[1] != 3:
            raise ValueError(f"expected images shaped (B, 3, H, W), got {tuple(images.shape)}")
        out: dict[str, Tensor] = {}
        x = images
        for name, module in self.backbone.trunk.named_children():
            x = module(x)
            if name in self.layers:
                out[name] = x
                if len(out) == len(self.layers):
                    break
        return out

    def pooled_difference(self, feats0: dict[str, Tensor], feats1: dict[str, Tensor]) -> dict[str, Tensor]:
        """Per layer, the spatial mean of the squared difference of channel-normalised features: (B, C) each."""
        return {
            layer: ((_channel_normalise(feats0[layer]) - _channel_normalise(feats1[layer])) ** 2).mean(dim=(2, 3))
            for layer in self.layers
        }

    def distance_from_pooled(self, pooled: dict[str, Tensor]) -> Tensor:
        """(B,) distances from `pooled_difference` output: channel sum (``baseline``) or the 1x1 weights."""
        total: Tensor | None = None
        for layer in self.layers:
            diff = pooled[layer]
            if self.variant == "baseline":
                value = diff.sum(dim=1)
            else:
                value = self.lins[layer](diff[:, :, None, None]).reshape(-1)
            total = value if total is None else total + value
        assert total is not None
        return total

    def _distance(self, feats0: dict[str, Tensor], feats1: dict[str, Tensor]) -> Tensor:
        return self.distance_from_pooled(self.pooled_difference(feats0, feats1))

    def forward(self, x0: Tensor, x1: Tensor) -> Tensor:
        """(B,) distances between two batches of (B, 3, H, W) float images in [0, 1]."""
        if x0.shape != x1.shape:
            raise ValueError(f"image batches differ in shape: {tuple(x0.shape)} vs {tuple(x1.shape)}")
        batch = x0.shape[0]
        feats = self.features(torch.cat([x0, x1]))
        return self._distance({k: v[:batch] for k, v in feats.items()}, {k: v[batch:] for k, v in feats.items()})

    def triplet_pooled(self, ref: Tensor, p0: Tensor, p1: Tensor) -> tuple[dict[str, Tensor], dict[str, Tensor]]:
        """`pooled_difference` of (ref, p0) and of (ref, p1), from one backbone pass over all three batches."""
        batch = ref.shape[0]
        feats = self.features(torch.cat([ref, p0, p1]))
        parts = [{k: v[i * batch : (i + 1) * batch] for k, v in feats.items()} for i in range(3)]
        return self.pooled_difference(parts[0], parts[1]), self.pooled_difference(parts[0], parts[2])

    def triplet_distances(self, ref: Tensor, p0: Tensor, p1: Tensor) -> tuple[Tensor, Tensor]:
        """(d0, d1) = (D(ref, p0), D(ref, p1)), each (B,), from one backbone pass over all three batches."""
        pooled0, pooled1 = self.triplet_pooled(ref, p0, p1)
        return self.distance_from_pooled(pooled0), self.distance_from_pooled(pooled1)

    @property
    def frozen_backbone(self) -> bool:
        """True when nothing in the backbone trains (``baseline``, ``lin``): its pooled differences are fixed."""
        return not any(param.requires_grad for param in self.backbone.parameters())

    def clamp_weights(self) -> None:
        """Clamp the 1x1 layer weights to be non-negative (call after each optimiser step)."""
        with torch.no_grad():
            for lin in self.lins.values():
                lin[1].weight.clamp_(min=0.0)


class JudgeNet(nn.Module):
    """LPIPS's "large" judge: (d0, d1) -> probability that p1 is judged closer to the reference.

    Features ``[d0, d1, d0 - d1, d0 / (d1 + 0.1), d1 / (d0 + 0.1)]`` -> 1x1 conv 5->32 -> LeakyReLU(0.2) ->
    32->32 -> LeakyReLU(0.2) -> 32->1 -> sigmoid.
    """

    def __init__(self, hidden: int = 32) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(5, hidden, 1),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(hidden, hidden, 1),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(hidden, 1, 1),
            nn.Sigmoid(),
        )

    def forward(self, d0: Tensor, d1: Tensor) -> Tensor:
        """(B,) probabilities in (0, 1) from (B,) distances."""
        d0, d1 = d0.reshape(-1), d1.reshape(-1)
        x = torch.stack([d0, d1, d0 - d1, d0 / (d1 + _RATIO_EPS), d1 / (d0 + _RATIO_EPS)], dim=1)
        return self.net(x[:, :, None, None]).reshape(-1)


@dataclass(frozen=True)
class Triplets:
    """A 2AFC triplet set: (N, 3, H, W) float images in [0, 1] and (N,) judgements (fraction preferring p1)."""

    ref: Tensor
    p0: Tensor
    p1: Tensor
    judge: Tensor

    def __post_init__(self) -> None:
        n = self.ref.shape[0]
        if not (self.ref.shape == self.p0.shape == self.p1.shape) or self.ref.ndim != 4 or self.judge.shape != (n,):
            raise ValueError(
                f"triplets must be (N, 3, H, W) x3 and judge (N,), got {tuple(self.ref.shape)}, "
                f"{tuple(self.p0.shape)}, {tuple(self.p1.shape)}, {tuple(self.judge.shape)}"
            )

    def __len__(self) -> int:
        return int(self.ref.shape[0])

    def subset(self, index: Tensor | slice) -> Triplets:
        """The triplets at ``index``."""
        return Triplets(self.ref[index], self.p0[index], self.p1[index], self.judge[index])


def _to_tensor(batch: Sequence[np.ndarray]) -> Tensor:
    return torch.from_numpy(np.stack(batch)).permute(0, 3, 1, 2).float().div(255.0)


def make_triplet_set(
    images: Sequence[np.ndarray], ranking: Sequence[str], *, seed: int, per_image: int = 1
) -> Triplets:
    """Seeded DPS triplets under the context ``ranking`` (`distortions.dps.make_triplet`).

    Args:
        images: uint8 (H, W, 3) images; resized to 64x64 (bicubic) unless already that size.
        ranking: a permutation of the six DPS distortions (e.g. from `make_rankings`).
        seed: seeds every draw; the same arguments give the same set.
        per_image: triplets drawn per image.
    """
    if not images or per_image < 1:
        raise ValueError(f"need at least one image and per_image >= 1, got {len(images)} and {per_image}")
    rng = np.random.default_rng(seed)
    refs, p0s, p1s, judges = [], [], [], []
    for image in images:
        patch = image if image.shape[:2] == (DPS_SIZE, DPS_SIZE) else resize_for_dps(image)
        for _ in range(per_image):
            ref, p0, p1, judge = make_triplet(patch, ranking, rng)
            refs.append(ref)
            p0s.append(p0)
            p1s.append(p1)
            judges.append(judge)
    return Triplets(_to_tensor(refs), _to_tensor(p0s), _to_tensor(p1s), torch.tensor(judges, dtype=torch.float32))


def _device(module: nn.Module) -> torch.device:
    return next(module.parameters()).device


Pooled = tuple[dict[str, Tensor], dict[str, Tensor]]


def pooled_triplets(metric: PerceptualDistance, triplets: Triplets, batch_size: int = 256) -> Pooled:
    """`PerceptualDistance.triplet_pooled` of every triplet, computed once with the backbone in eval mode.

    For ``baseline`` and ``lin`` (frozen backbone) these fix the metric's inputs, so training and scoring need no
    further backbone pass. Returned on the metric's device.
    """
    device = _device(metric)
    was_training = metric.training
    metric.eval()
    parts0: list[dict[str, Tensor]] = []
    parts1: list[dict[str, Tensor]] = []
    try:
        with torch.no_grad():
            for start in range(0, len(triplets), batch_size):
                part = triplets.subset(slice(start, start + batch_size))
                pooled0, pooled1 = metric.triplet_pooled(part.ref.to(device), part.p0.to(device), part.p1.to(device))
                parts0.append(pooled0)
                parts1.append(pooled1)
    finally:
        metric.train(was_training)
    return (
        {layer: torch.cat([p[layer] for p in parts0]) for layer in metric.layers},
        {layer: torch.cat([p[layer] for p in parts1]) for layer in metric.layers},
    )


def _select(pooled: Pooled, index: Tensor | slice) -> Pooled:
    return {k: v[index] for k, v in pooled[0].items()}, {k: v[index] for k, v in pooled[1].items()}


def score_pooled(metric: PerceptualDistance, pooled: Pooled, judge: Tensor) -> float:
    """2AFC score of ``metric`` from `pooled_triplets` output (eval mode; only valid for a frozen backbone)."""
    was_training = metric.training
    metric.eval()
    try:
        with torch.no_grad():
            d0, d1 = metric.distance_from_pooled(pooled[0]), metric.distance_from_pooled(pooled[1])
    finally:
        metric.train(was_training)
    return score_2afc(d0.cpu().numpy(), d1.cpu().numpy(), judge.cpu().numpy())


def score_triplets(metric: PerceptualDistance, triplets: Triplets, batch_size: int = 256) -> float:
    """2AFC score (ties 0.5, `evaluate.score_2afc`) of ``metric`` on ``triplets``, in eval mode."""
    device = _device(metric)
    was_training = metric.training
    metric.eval()
    d0s, d1s = [], []
    try:
        with torch.no_grad():
            for start in range(0, len(triplets), batch_size):
                part = triplets.subset(slice(start, start + batch_size))
                d0, d1 = metric.triplet_distances(part.ref.to(device), part.p0.to(device), part.p1.to(device))
                d0s.append(d0.cpu())
                d1s.append(d1.cpu())
    finally:
        metric.train(was_training)
    return score_2afc(torch.cat(d0s).numpy(), torch.cat(d1s).numpy(), triplets.judge.numpy())


@contextlib.contextmanager
def _num_threads(count: int | None) -> Iterator[None]:
    """Run with ``count`` torch threads (None: unchanged), restoring the previous count afterwards."""
    previous = torch.get_num_threads()
    if count is not None:
        torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def _state(metric: PerceptualDistance, judge: JudgeNet) -> tuple[dict[str, Tensor], dict[str, Tensor]]:
    """Copies of what training changes: the judge, the 1x1 weights, and the backbone unless it is frozen."""
    state = metric.state_dict()
    if metric.frozen_backbone:
        state = {k: v for k, v in state.items() if not k.startswith("backbone.")}
    return {k: v.detach().clone() for k, v in state.items()}, {
        k: v.detach().clone() for k, v in judge.state_dict().items()
    }


def adapt(
    metric: PerceptualDistance,
    judge: JudgeNet,
    triplets: Triplets,
    epochs: int,
    *,
    lr: float = 1e-3,
    backbone_lr: float | None = None,
    betas: tuple[float, float] = (0.5, 0.999),
    batch_size: int = 1024,
    seed: int = 0,
    sync_loss: bool = True,
    sync_epochs: int = 0,
    decay_epochs: int = 0,
    validation: Triplets | None = None,
    judge_warmup_epochs: int = 0,
    pooled: Pooled | None = None,
    val_pooled: Pooled | None = None,
) -> list[dict[str, float]]:
    """Adapt ``metric`` to a context: Adam on BCE(judge(d0, d1), h), as DPS's ``Learner``.

    While a batch's 2AFC is <= 0.5 (DPS's default sync mode) the sync loss ``10 * BCE(sigmoid(d0 - d1), h)`` is
    added. The 1x1 weights are clamped >= 0 after each step. The learning rate is constant, then decays linearly
    over the last ``decay_epochs`` epochs (LPIPS schedule; DPS uses 10 epochs with 5 decaying), every parameter
    group by the same factor. The judge and the 1x1 weights train at ``lr``, a trainable backbone (``tune``,
    ``scratch``) in its own Adam parameter group at ``backbone_lr``. The global RNG
    is left untouched: shuffling and dropout draw from ``seed``. With a frozen backbone (``baseline``, ``lin``)
    each triplet's pooled layer differences are computed once (`pooled_triplets`) and training runs on them.

    With ``validation`` (triplets of the same context, disjoint from ``triplets``), its 2AFC is scored before
    training and after every epoch, and ``metric`` and ``judge`` end in the state with the best validation 2AFC
    (the earliest on ties; the untrained state when no epoch beats it): model selection never sees held-out data.

    Args:
        metric: a `PerceptualDistance`; ``baseline`` trains nothing but the judge.
        judge: the judge network (trained alongside).
        triplets: the training triplets.
        epochs: passes over ``triplets``.
        lr, betas: Adam settings of the judge and the 1x1 weights (DPS: 1e-3, (0.5, 0.999)).
        backbone_lr: Adam learning rate of the backbone when it trains (``tune``, ``scratch``); None: ``lr``
            (DPS's single rate). The 1x1 weights start at 1 and want a large ``lr`` (0.1 for ``lin``), far too
            large for a ResNet trunk under Adam, hence a separate rate (``adapt_dps.backbone_lr``: 1e-4).
        batch_size: triplets per step (DPS: 1024).
        seed: seeds shuffling and dropout.
        sync_loss: whether to add the sync loss while a batch's 2AFC is <= 0.5 (DPS's default mode).
        sync_epochs: leading epochs with the sync loss on for every batch (DPS's epoch mode); it is the one term
            that rewards the order of d0 and d1 directly, which the judge's BCE alone does not (the judge can fit
            the judgements from distance magnitudes while the order gets worse).
        decay_epochs: trailing epochs with linearly decaying learning rate (0: constant).
        validation: optional validation triplets for per-epoch scoring and best-state selection.
        judge_warmup_epochs: leading epochs in which only the judge trains, so it learns to read the untrained
            metric before the metric adapts (a randomly initialised judge can otherwise read d0 - d1 with the
            wrong sign, and the metric then learns the reversed order: BCE falls while 2AFC falls too).
        pooled, val_pooled: `pooled_triplets` of ``triplets`` and ``validation`` when already computed (frozen
            backbone only), so they are not computed again.

    Returns:
        One dict per epoch: ``epoch``, ``loss``, ``bce`` (judge BCE), ``sync_fraction`` (share of steps with the
        sync loss on), ``train_2afc`` (on the batches as trained), ``lr``; with a trainable backbone also
        ``backbone_lr``; with ``validation`` also ``val_2afc`` and ``selected`` (1.0 for the epoch whose state was
        kept, else 0.0).

    Raises:
        ValueError: bad epochs, batch size, decay or warm-up epochs, learning rates, or empty validation.
    """
    if (
        epochs < 1
        or batch_size < 1
        or not 0 <= decay_epochs <= epochs
        or not 0 <= judge_warmup_epochs <= epochs
        or sync_epochs < 0
    ):
        raise ValueError(
            f"need epochs >= 1, batch_size >= 1, 0 <= decay_epochs <= epochs, 0 <= judge_warmup_epochs <= epochs; "
            f"got {epochs}, {batch_size}, {decay_epochs}, {judge_warmup_epochs}"
        )
    backbone_lr = lr if backbone_lr is None else backbone_lr
    if not (lr > 0 and backbone_lr > 0):
        raise ValueError(f"need lr > 0 and backbone_lr > 0, got {lr} and {backbone_lr}")
    if validation is not None and len(validation) == 0:
        raise ValueError("validation triplets are empty")
    device = _device(metric)
    judge.to(device)
    weight_params = [p for p in metric.lins.parameters() if p.requires_grad]
    backbone_params = [p for p in metric.backbone.parameters() if p.requires_grad]
    # Each group's base rate; the decay multiplies every group by the same factor.
    groups = [{"params": weight_params, "lr": lr}] if weight_params else []
    if backbone_params:
        groups.append({"params": backbone_params, "lr": backbone_lr})
    optimisers = [torch.optim.Adam(judge.parameters(), lr=lr, betas=betas)]
    if groups:
        optimisers.append(torch.optim.Adam(groups, lr=lr, betas=betas))
    base_lrs = [[group["lr"] for group in optimiser.param_groups] for optimiser in optimisers]
    generator = torch.Generator().manual_seed(seed)
    if (pooled is not None or val_pooled is not None) and not metric.frozen_backbone:
        raise ValueError(f"precomputed pooled differences need a frozen backbone; variant {metric.variant!r} trains it")
    cache = (pooled or pooled_triplets(metric, triplets)) if metric.frozen_backbone else None
    val_cache = None
    if validation is not None and cache is not None:
        val_cache = val_pooled or pooled_triplets(metric, validation)

    def val_score() -> float:
        assert validation is not None
        if val_cache is not None:
            return score_pooled(metric, val_cache, validation.judge)
        return score_triplets(metric, validation)

    best_score = val_score() if validation is not None else float("-inf")
    best_state, best_epoch = (_state(metric, judge), -1) if validation is not None else (None, -1)
    history: list[dict[str, float]] = []
    metric.train()
    judge.train()
    devices = [device] if device.type == "cuda" else []
    # Steps on pooled differences are tiny ops: on CPU, thread hand-offs dominate them (10x on a loaded machine).
    single = cache is not None and device.type == "cpu"
    with torch.random.fork_rng(devices=devices), _num_threads(1 if single else None):
        torch.manual_seed(seed)
        for epoch in range(epochs):
            factor = 1.0 - max(0, epoch - (epochs - decay_epochs)) / decay_epochs if decay_epochs else 1.0
            active = optimisers[:1] if epoch < judge_warmup_epochs else optimisers
            for optimiser, bases in zip(optimisers, base_lrs, strict=True):
                for group, base in zip(optimiser.param_groups, bases, strict=True):
                    group["lr"] = base * factor
            order = torch.randperm(len(triplets), generator=generator)
            totals = {"loss": 0.0, "bce": 0.0, "sync": 0.0}
            d0_all, d1_all, h_all = [], [], []
            steps = 0
            for start in range(0, len(triplets), batch_size):
                index = order[start : start + batch_size]
                h = triplets.judge[index].to(device)
                if cache is not None:
                    pooled0, pooled1 = _select(cache, index.to(device))
                    d0, d1 = metric.distance_from_pooled(pooled0), metric.distance_from_pooled(pooled1)
                else:
                    part = triplets.subset(index)
                    d0, d1 = metric.triplet_distances(part.ref.to(device), part.p0.to(device), part.p1.to(device))
                bce = binary_cross_entropy(judge(d0, d1), h)
                loss = bce
                batch_2afc = score_2afc(d0.detach().cpu().numpy(), d1.detach().cpu().numpy(), h.cpu().numpy())
                synced = epoch < sync_epochs or (sync_loss and batch_2afc <= 0.5)
                if synced:
                    loss = loss + 10.0 * binary_cross_entropy(torch.sigmoid(d0 - d1), h)
                for optimiser in optimisers:
                    optimiser.zero_grad(set_to_none=True)
                loss.backward()
                for optimiser in active:
                    optimiser.step()
                metric.clamp_weights()
                totals["loss"] += float(loss.detach())
                totals["bce"] += float(bce.detach())
                totals["sync"] += float(synced)
                d0_all.append(d0.detach().cpu())
                d1_all.append(d1.detach().cpu())
                h_all.append(h.cpu())
                steps += 1
            row = {
                "epoch": float(epoch),
                "loss": totals["loss"] / steps,
                "bce": totals["bce"] / steps,
                "sync_fraction": totals["sync"] / steps,
                "train_2afc": score_2afc(torch.cat(d0_all).numpy(), torch.cat(d1_all).numpy(),
                                         torch.cat(h_all).numpy()),
                "lr": lr * factor,
            }  # fmt: skip
            if backbone_params:
                row["backbone_lr"] = backbone_lr * factor
            if validation is not None:
                row["val_2afc"] = val_score()
                if row["val_2afc"] > best_score:
                    best_score, best_state, best_epoch = row["val_2afc"], _state(metric, judge), epoch
            history.append(row)
    if best_state is not None:
        metric.load_state_dict(best_state[0], strict=not metric.frozen_backbone)
        judge.load_state_dict(best_state[1])
        for row in history:
            row["selected"] = float(row["epoch"] == best_epoch)
    return history


__all__ = [
    "DEFAULT_LAYERS",
    "VARIANTS",
    "JudgeNet",
    "PerceptualDistance",
    "Triplets",
    "adapt",
    "check_variant",
    "encoder_from_weights",
    "make_triplet_set",
    "pooled_triplets",
    "score_pooled",
    "score_triplets",
]
