"""The 2D self-supervised methods by name (``train.method``, ``perceptflow ssl list``)."""

from perceptflow.ssl import contrique, mixup, simclr
from perceptflow.ssl.method import MethodSpec

#: Available methods by name; `perceptflow.ssl.method_params.METHOD_NAMES` lists the same names without torch.
METHODS: dict[str, MethodSpec] = {
    "contrique": contrique.SPEC,
    "simclr": simclr.SPEC,
    "mixup": mixup.SPEC,
}
