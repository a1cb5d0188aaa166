"""Self-supervised methods that train perceptflow encoders, behind one small interface (`MethodSpec`)."""

from perceptflow.ssl import contrique, simclr
from perceptflow.ssl.config import TrainConfig, TrainSample
from perceptflow.ssl.contrique import ContriqueLoss, ContriqueModel, multiclass_nt_xent, train_contrique
from perceptflow.ssl.method import MethodSpec, SSLMethod
from perceptflow.ssl.simclr import NTXentLoss, SimCLRMethod, nt_xent
from perceptflow.ssl.trainer import train_method

#: Available methods by name (``perceptflow ssl list``).
METHODS: dict[str, MethodSpec] = {
    "contrique": contrique.SPEC,
    "simclr": simclr.SPEC,
}

__all__ = [
    "METHODS",
    "ContriqueLoss",
    "ContriqueModel",
    "MethodSpec",
    "NTXentLoss",
    "SSLMethod",
    "SimCLRMethod",
    "TrainConfig",
    "TrainSample",
    "multiclass_nt_xent",
    "nt_xent",
    "train_contrique",
    "train_method",
]
