"""Self-supervised methods that train perceptflow encoders, behind one small interface (`MethodSpec`).

Names are imported on first use (PEP 562), so the workflow can read `perceptflow.ssl.method_params` while it
parses the Snakefile without importing torch (seconds per job).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

#: Public name -> module that defines it.
_EXPORTS = {
    "METHODS": "perceptflow.ssl.registry",
    "ContriqueLoss": "perceptflow.ssl.contrique",
    "ContriqueModel": "perceptflow.ssl.contrique",
    "multiclass_nt_xent": "perceptflow.ssl.contrique",
    "train_contrique": "perceptflow.ssl.contrique",
    "MethodSpec": "perceptflow.ssl.method",
    "SSLMethod": "perceptflow.ssl.method",
    "MixupConfig": "perceptflow.ssl.config",
    "TrainConfig": "perceptflow.ssl.config",
    "TrainSample": "perceptflow.ssl.config",
    "MixupMethod": "perceptflow.ssl.mixup",
    "mixup_loss": "perceptflow.ssl.mixup",
    "transparency_srcc": "perceptflow.ssl.mixup",
    "NTXentLoss": "perceptflow.ssl.simclr",
    "SimCLRMethod": "perceptflow.ssl.simclr",
    "nt_xent": "perceptflow.ssl.simclr",
    "train_method": "perceptflow.ssl.trainer",
}

__all__ = [
    "METHODS",
    "ContriqueLoss",
    "ContriqueModel",
    "MethodSpec",
    "MixupConfig",
    "MixupMethod",
    "NTXentLoss",
    "SSLMethod",
    "SimCLRMethod",
    "TrainConfig",
    "TrainSample",
    "mixup_loss",
    "multiclass_nt_xent",
    "nt_xent",
    "train_contrique",
    "train_method",
    "transparency_srcc",
]

if TYPE_CHECKING:  # pragma: no cover
    from perceptflow.ssl.config import MixupConfig, TrainConfig, TrainSample
    from perceptflow.ssl.contrique import ContriqueLoss, ContriqueModel, multiclass_nt_xent, train_contrique
    from perceptflow.ssl.method import MethodSpec, SSLMethod
    from perceptflow.ssl.mixup import MixupMethod, mixup_loss, transparency_srcc
    from perceptflow.ssl.registry import METHODS
    from perceptflow.ssl.simclr import NTXentLoss, SimCLRMethod, nt_xent
    from perceptflow.ssl.trainer import train_method


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'perceptflow.ssl' has no attribute {name!r}")
    value = getattr(importlib.import_module(_EXPORTS[name]), name)
    globals()[name] = value
    return value
