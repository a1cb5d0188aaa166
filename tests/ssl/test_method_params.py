"""Per-method training settings: shared `train` keys, the method's own section, `train.overrides.<method>`."""

from __future__ import annotations

import subprocess
import sys

import pytest

from perceptflow.ssl import METHODS, TrainConfig
from perceptflow.ssl.method_params import METHOD_NAMES, check_overrides, resolve_method_params

TRAIN = {
    "method": "contrique",
    "methods": ["contrique", "simclr", "mixup"],
    "arch": "resnet18",
    "epochs": 8,
    "lr": 0.01,
    "crop_size": 80,
    "random_init_seed": 3,
    "mixup": {"transparency_weight": 5.0, "held_out": 0.2},
    "overrides": {"mixup": {"lr": 0.1, "mixup": {"held_out": 0.3}}, "simclr": {"temperature": 0.5}},
}


def test_override_applies_to_its_method_only() -> None:
    assert resolve_method_params(TRAIN, "mixup")["lr"] == 0.1
    assert resolve_method_params(TRAIN, "contrique")["lr"] == 0.01
    assert resolve_method_params(TRAIN, "simclr")["lr"] == 0.01
    assert resolve_method_params(TRAIN, "simclr")["temperature"] == 0.5
    assert "temperature" not in resolve_method_params(TRAIN, "contrique")


def test_nested_section_is_merged_key_by_key() -> None:
    mixup = resolve_method_params(TRAIN, "mixup")["mixup"]
    assert mixup == {"transparency_weight": 5.0, "held_out": 0.3}
    assert TRAIN["mixup"] == {"transparency_weight": 5.0, "held_out": 0.2}  # the user's config is not modified


def test_selection_keys_and_other_methods_sections_are_left_out() -> None:
    contrique = resolve_method_params(TRAIN, "contrique")
    assert set(contrique) == {"arch", "epochs", "lr", "crop_size"}
    assert "mixup" in resolve_method_params(TRAIN, "mixup")
    TrainConfig.from_dict(contrique)  # the resolved mapping is a valid TrainConfig


def test_without_overrides_every_method_gets_the_shared_settings() -> None:
    train = {k: v for k, v in TRAIN.items() if k != "overrides"}
    for method in ("contrique", "simclr"):
        assert resolve_method_params(train, method) == {"arch": "resnet18", "epochs": 8, "lr": 0.01, "crop_size": 80}


def test_invalid_resolved_value_names_the_override() -> None:
    train = {"lr": 0.01, "overrides": {"simclr": {"lr": -1.0}}}
    with pytest.raises(ValueError, match=r"train\.lr must be.*train\.overrides\.simclr"):
        resolve_method_params(train, "simclr")
    assert resolve_method_params(train, "simclr", validate=False)["lr"] == -1.0


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"byol": {"lr": 0.1}}, r"train\.overrides\.byol: unknown method"),
        ({"mixup": {"arch": "resnet50"}}, r"train\.overrides\.mixup\.arch: .*shared by every method"),
        ({"mixup": {"lrr": 0.1}}, r"train\.overrides\.mixup\.lrr: unknown train setting"),
        (
            {"contrique": {"mixup": {"held_out": 0.3}}},
            r"train\.overrides\.contrique\.mixup: .*belongs to method 'mixup'",
        ),
        ({"simclr": 0.1}, r"train\.overrides\.simclr must be a mapping"),
        (["mixup"], r"train\.overrides must be a mapping"),
    ],
)
def test_check_overrides_refuses_bad_entries_naming_the_key(overrides: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        check_overrides({"overrides": overrides})


def test_check_overrides_accepts_a_valid_section() -> None:
    check_overrides(TRAIN)
    check_overrides({})


def test_method_names_match_the_registry() -> None:
    assert set(METHOD_NAMES) == set(METHODS)


def test_reading_params_does_not_import_torch() -> None:
    """The Snakefile imports this module while parsing, once per job: it must stay cheap."""
    code = "import sys, perceptflow.ssl.method_params as m; m.check_overrides({}); print('torch' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


def test_resolving_checks_the_overrides_too() -> None:
    with pytest.raises(ValueError, match=r"train\.overrides\.mixup\.arch"):
        resolve_method_params({"overrides": {"mixup": {"arch": "resnet50"}}}, "mixup", validate=False)
