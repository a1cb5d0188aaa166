"""The package graph follows the pipeline: distortions is a leaf, no cycles between subpackages, wiring is torch-free,
and each rule script's import closure separates 2D from 3D code (docs/architecture.md)."""

from __future__ import annotations

import ast
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest

from perceptflow import wiring
from perceptflow.ssl.volumes.config import DEFAULT_WIDTHS, METHOD_OWN_KEYS, VOLUME_METHOD_NAMES

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "perceptflow"
SCRIPTS = sorted((ROOT / "scripts").glob("*.py"))
#: What `perceptflow.distortions` may import: the data readers, the shared types and the leaf measures.
DISTORTIONS_MAY_IMPORT = {"distortions", "data", "types", "measures"}
VOLUME_SCRIPTS = {"distort_volumes", "distort_volume_gallery", "train_volume_encoder", "train_volume_random_init",
                  "extract_volume_features", "evaluate_volume_baselines", "evaluate_volumes",
                  "export_volume_metric"}  # fmt: skip


def perceptflow_imports(path: Path) -> set[str]:
    """Every perceptflow module named by an import in ``path``, function-level imports included."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return {name for name in names if name.startswith("perceptflow.")}


def subpackage(name: str) -> str:
    return name.split(".")[1]


def subpackage_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = defaultdict(set)
    for path in PACKAGE.rglob("*.py"):
        rel = path.relative_to(PACKAGE)
        source = rel.parts[0].removesuffix(".py")
        for name in perceptflow_imports(path):
            if subpackage(name) != source:
                graph[source].add(subpackage(name))
    return graph


def test_distortions_imports_only_data_types_and_measures() -> None:
    offending = {
        f"{path.relative_to(PACKAGE)} imports {name}"
        for path in (PACKAGE / "distortions").rglob("*.py")
        for name in perceptflow_imports(path)
        if subpackage(name) not in DISTORTIONS_MAY_IMPORT
    }
    assert not offending, sorted(offending)


def test_measures_is_a_leaf() -> None:
    assert not perceptflow_imports(PACKAGE / "measures.py")


def test_no_import_cycle_between_subpackages() -> None:
    graph = subpackage_graph()
    state: dict[str, int] = {}

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                pytest.fail(f"import cycle: {' -> '.join([*trail, node, nxt])}")
            if nxt not in state:
                visit(nxt, [*trail, node])
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [])


def test_the_cycle_check_finds_a_cycle(monkeypatch: pytest.MonkeyPatch) -> None:
    """The cycle test can fail: a graph with a back edge is reported."""
    monkeypatch.setitem(globals(), "subpackage_graph", lambda: {"a": {"b"}, "b": {"a"}})
    with pytest.raises(pytest.fail.Exception, match="import cycle"):
        test_no_import_cycle_between_subpackages()


def test_wiring_imports_no_torch() -> None:
    code = "import sys, perceptflow.wiring, perceptflow.ssl.method_params; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_torch_free_names_match_the_registries() -> None:
    from perceptflow.metric.distance import PerceptualDistance  # noqa: F401  (the variants' user)
    from perceptflow.models.volumes.unet3d import SMALL_WIDTHS
    from perceptflow.ssl.method_params import METHOD_NAMES
    from perceptflow.ssl.registry import METHODS
    from perceptflow.ssl.volumes.registry import VOLUME_METHODS

    assert tuple(METHODS) == METHOD_NAMES
    assert tuple(VOLUME_METHODS) == VOLUME_METHOD_NAMES
    assert tuple(METHOD_OWN_KEYS) == VOLUME_METHOD_NAMES, "every 3D method lists the keys only it reads"
    assert tuple(SMALL_WIDTHS) == DEFAULT_WIDTHS


def test_canonical_sorts_mapping_keys_and_keeps_list_order() -> None:
    a = wiring.canonical({"b": 1, "a": {"y": [3, 1], "x": (2,)}})
    b = wiring.canonical({"a": {"x": [2], "y": [3, 1]}, "b": 1})
    assert a == b and list(a) == ["a", "b"] and list(a["a"]) == ["x", "y"]
    assert repr(a) == repr(b)
    assert wiring.canonical({"l": [2, 1]}) != wiring.canonical({"l": [1, 2]})


def closure(script: str) -> set[str]:
    return {str(p.relative_to(PACKAGE)) for p in wiring.import_closure(ROOT / "scripts" / f"{script}.py", PACKAGE)}


def test_closures_separate_2d_from_3d_code() -> None:
    three_d_only = {"ssl/volumes/gvsl.py", "ssl/volumes/contrastive.py", "models/volumes/unet3d.py",
                    "features/volumes/extract.py", "distortions/medical/tio.py"}  # fmt: skip
    # The distortion registry (and the 2D ops it lists) is shared: the volume bank reads levels from it.
    # ssl/contrique.py is shared too: the 3D contrastive method trains with the CONTRIQUE loss.
    two_d_only = {"ssl/simclr.py", "ssl/mixup.py", "features/extract.py", "dps/stage.py"}
    for script in SCRIPTS:
        files = closure(script.stem)
        if script.stem in VOLUME_SCRIPTS:
            assert not files & two_d_only, (script.stem, files & two_d_only)
        else:
            assert not files & three_d_only, (script.stem, files & three_d_only)
    assert "ssl/volumes/gvsl.py" in closure("train_volume_encoder")
    assert "ssl/contrique.py" in closure("train_encoder")


def test_closure_follows_lazy_exports_and_function_level_imports() -> None:
    files = closure("train_encoder")
    # ssl/__init__.py exports names lazily (PEP 562) by module string; torchrun imports training inside main()
    assert {"ssl/__init__.py", "ssl/registry.py", "ssl/torchrun.py", "ssl/training.py", "ssl/mixup.py"} <= files
    assert "__init__.py" in files  # importing perceptflow.x runs perceptflow/__init__.py


def test_code_version_changes_with_a_module_in_the_closure_only(tmp_path: Path) -> None:
    import shutil

    copy = tmp_path / "perceptflow"
    shutil.copytree(PACKAGE, copy)
    script = str(ROOT / "scripts" / "train_volume_encoder.py")
    two_d = str(ROOT / "scripts" / "train_encoder.py")
    before = (wiring.code_version(script, str(copy)), wiring.code_version(two_d, str(copy)))
    gvsl = copy / "ssl" / "volumes" / "gvsl.py"
    gvsl.write_text(gvsl.read_text() + "\n# edited\n")
    wiring.code_version.cache_clear()
    after = (wiring.code_version(script, str(copy)), wiring.code_version(two_d, str(copy)))
    assert after[0] != before[0] and after[1] == before[1]
