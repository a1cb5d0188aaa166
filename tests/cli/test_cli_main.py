"""The perceptflow command line: subcommands registered, errors as exit code 2."""

from __future__ import annotations

import json

import pytest

from perceptflow.cli.main import main


def test_ssl_list_names_methods(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ssl", "list", "--json"]) == 0
    methods = json.loads(capsys.readouterr().out)
    assert "contrique" in [m["name"] for m in methods]
    assert all(m["description"] for m in methods)


def test_unknown_distortion_is_a_user_error(capsys: pytest.CaptureFixture[str], tmp_path) -> None:
    image = tmp_path / "x.png"
    from PIL import Image

    Image.new("RGB", (16, 16)).save(image)
    code = main(["distortions", "apply", str(image), "--type", "gausian_blur", "--level", "1", "-o", str(tmp_path)])
    assert code == 2
    assert "gaussian_blur" in capsys.readouterr().err


def test_subcommand_is_required() -> None:
    with pytest.raises(SystemExit) as error:
        main([])
    assert error.value.code == 2
