"""Self-supervised methods that train perceptflow encoders, behind one small interface (`MethodSpec`)."""

from perceptflow.ssl import contrique, mixup, simclr
from perceptflow.ssl.config import MixupConfig, TrainConfig, TrainSample
from perceptflow.ssl.contrique import ContriqueLoss, ContriqueModel, multiclass_nt_xent, train_contrique
from perceptflow.ssl.method import MethodSpec, SSLMethod
from perceptflow.ssl.mixup import MixupMethod, mixup_loss, transparency_srcc
from perceptflow.ssl.simclr import NTXentLoss, SimCLRMethod, nt_xent
from perceptflow.ssl.trainer import train_method

#: Available methods by name (``perceptflow ssl list``).
METHODS: dict[str, MethodSpec] = {
    "contrique": contrique.SPEC,
    "simclr": simclr.SPEC,
    "mixup": mixup.SPEC,
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
