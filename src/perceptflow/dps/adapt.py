"""DPS adaptation's training loop: an LPIPS-style distance (`perceptflow.metric.distance`) trained on a ranking context.

Follows Pihlgren et al., "Deep Perceptual Similarity is Adaptable to Ambiguous Contexts" (arXiv 2304.02265) and
its LPIPS-derived code: channel-unit-normalised features of chosen ResNet stages, squared
difference, a non-negative learned 1x1 conv per layer (or a plain channel sum for ``baseline``), spatial mean,
sum over layers; trained with BCE through the LPIPS "large" judge network on (ref, p0, p1, judge) triplets, and
scored by 2AFC (Zhang et al., LPIPS/BAPPS, CVPR 2018). "Pretrained" means a perceptflow encoder (`load_encoder`)
or a local torchvision weights file (`encoder_from_weights`); nothing is downloaded.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch
from torch import Tensor
from torch.nn.functional import binary_cross_entropy

from perceptflow.dps.judge import JudgeNet
from perceptflow.dps.triplets import Pooled, Triplets, _device, _select, pooled_triplets, score_pooled, score_triplets
from perceptflow.evaluate import score_2afc
from perceptflow.metric.distance import PerceptualDistance


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


__all__ = ["adapt"]
