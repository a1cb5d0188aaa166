"""The metric file refuses what is not one, naming the file, and never runs a pickle's code."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import pytest
import torch

from perceptflow.metric import METRIC_FORMAT, MetricFileError, load_metric, metric_payload, save_metric_file
from perceptflow.metric.file import read_metric_file
from perceptflow.models import save_encoder


class _RunsCode:
    def __reduce__(self) -> tuple:
        return (os.system, ("touch SENTINEL",))


def test_round_trip_keeps_sections_and_loads_with_weights_only(fr_file: Path) -> None:
    payload = torch.load(fr_file, weights_only=True)
    assert payload["format"] == METRIC_FORMAT and payload["fr"]["kind"] == "lpips"
    assert read_metric_file(fr_file)["provenance"] == {"test": True}


def test_random_bytes_are_refused_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "noise.pt"
    path.write_bytes(os.urandom(4096))
    with pytest.raises(MetricFileError, match=f"{path} is not a perceptflow metric file"):
        load_metric(path)


def test_a_pickle_that_would_run_code_is_refused_and_never_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "evil.pt"
    torch.save({"format": METRIC_FORMAT, "payload": _RunsCode()}, path)
    with pytest.raises(MetricFileError, match=f"{path} is not a perceptflow metric file"):
        load_metric(path)
    path.write_bytes(pickle.dumps(_RunsCode()))
    with pytest.raises(MetricFileError, match="nothing in it was run"):
        load_metric(path)
    assert not (tmp_path / "SENTINEL").exists()


def test_an_encoder_file_is_refused_with_a_pointer_to_export(encoder: torch.nn.Module, tmp_path: Path) -> None:
    path = tmp_path / "encoder.pt"
    save_encoder(encoder, path, method="random")
    with pytest.raises(MetricFileError, match=f"{path} is not a perceptflow metric file.*encoder file"):
        load_metric(path)


def test_another_version_is_refused_never_loaded(encoder: torch.nn.Module, tmp_path: Path) -> None:
    payload = metric_payload(encoder, method="random")
    payload["format"] = "perceptflow.metric/2"
    path = tmp_path / "future.pt"
    torch.save(payload, path)
    with pytest.raises(MetricFileError, match=r"'perceptflow.metric/2', this perceptflow reads 'perceptflow.metric/1'"):
        load_metric(path)


def test_missing_file_and_missing_section(encoder: torch.nn.Module, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="metric file not found"):
        load_metric(tmp_path / "absent.pt")
    payload = metric_payload(encoder, method="random")
    del payload["fr"]
    torch.save(payload, tmp_path / "damaged.pt")
    with pytest.raises(MetricFileError, match=r"damaged.*\['fr'\]"):
        load_metric(tmp_path / "damaged.pt")


def test_save_refuses_objects_weights_only_would_refuse(encoder: torch.nn.Module, tmp_path: Path) -> None:
    payload = metric_payload(encoder, method="random", provenance={"when": object()})
    with pytest.raises(ValueError, match="tensors and plain data only"):
        save_metric_file(payload, tmp_path / "x.pt")


def test_an_adapt_dps_file_is_read_per_context(encoder: torch.nn.Module, tmp_path: Path) -> None:
    from perceptflow.metric import PerceptualDistance

    lin = PerceptualDistance("lin", encoder, layers=("layer1", "layer2")).eval()
    with torch.no_grad():
        for index, module in enumerate(lin.lins.values()):
            module[1].weight.mul_(torch.rand_like(module[1].weight) * (index + 1))  # type: ignore[index]
    state = {k: v for k, v in lin.state_dict().items() if k.startswith("lins.")}
    payload = {
        "format": "perceptflow.dps_metric.v1", "encoder": "contrique", "variant": "lin", "arch": "resnet18",
        "layers": ["layer1", "layer2"], "dropout": 0.5, "backbone": encoder.state_dict(),
        "contexts": {"0": {"ranking": "a>b", "metric": state, "judge": {}}},
    }  # fmt: skip
    path = tmp_path / "metric.pt"
    torch.save(payload, path)
    with pytest.raises(MetricFileError, match=r"needs context=; its contexts: \['0'\]"):
        load_metric(path)
    metric = load_metric(path, context=0)
    x, y = torch.rand(2, 3, 64, 64), torch.rand(2, 3, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(metric(x, y), lin(x, y), rtol=1e-5, atol=1e-6)
