"""Static check: every rule has a conda env that provides what its script imports, perceptflow included."""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src"
#: Import name -> conda package name, where they differ.
CONDA_NAMES = {
    "PIL": "pillow",
    "skimage": "scikit-image",
    "sklearn": "scikit-learn",
    "torch": "pytorch",
    "yaml": "pyyaml",
    "dask": "dask",
}
RULE = re.compile(r"^rule (\w+):(.*?)(?=^rule |\Z)", re.S | re.M)


def rules() -> dict[str, dict[str, str]]:
    """rule name -> {"conda": path, "script": path} parsed from rules/*.smk (paths relative to rules/)."""
    found = {}
    for smk in sorted((ROOT / "rules").glob("*.smk")):
        for name, body in RULE.findall(smk.read_text()):
            entry = {}
            for key in ("conda", "script"):
                match = re.search(rf"^\s+{key}:\s*\n\s+\"([^\"]+)\"", body, re.M)
                if match:
                    entry[key] = match.group(1)
            found[name] = entry
    return found


def third_party_imports(path: Path, seen: set[Path] | None = None) -> set[str]:
    """Top-level third-party modules a file imports, following perceptflow imports transitively."""
    seen = set() if seen is None else seen
    if path in seen:
        return set()
    seen.add(path)
    modules: set[str] = set()
    for node in _runtime_nodes(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        else:
            continue
        for name in names:
            top = name.split(".")[0]
            if top == "perceptflow":
                for file in _module_files(name):
                    modules |= third_party_imports(file, seen)
            elif top not in sys.stdlib_module_names and top not in ("__future__", "snakemake"):
                modules.add(top)
    return modules


def _runtime_nodes(tree: ast.AST) -> list[ast.AST]:
    """Every node of ``tree`` except the bodies of ``if TYPE_CHECKING:`` blocks, which never run."""
    nodes: list[ast.AST] = []
    stack = [tree]
    while stack:
        node = stack.pop()
        nodes.append(node)
        if isinstance(node, ast.If) and ast.unparse(node.test) in ("TYPE_CHECKING", "typing.TYPE_CHECKING"):
            stack.extend(node.orelse)
            continue
        stack.extend(ast.iter_child_nodes(node))
    return nodes


def _module_files(dotted: str) -> list[Path]:
    """Files Python executes to import ``dotted``: every parent package's __init__ plus the module itself."""
    parts = dotted.split(".")
    files = [SRC.joinpath(*parts[:i], "__init__.py") for i in range(1, len(parts) + 1)]
    files.append(SRC.joinpath(*parts).with_suffix(".py"))
    return [f for f in files if f.is_file()]


def env_packages(env_file: Path) -> set[str]:
    spec = yaml.safe_load(env_file.read_text())
    names = set()
    for dep in spec["dependencies"]:
        if isinstance(dep, str):
            names.add(re.split(r"[=<>!~ ]", dep, maxsplit=1)[0])
    return names


ALL_RULES = rules()


def test_rules_were_found() -> None:
    assert {
        "distort_references",
        "train_encoder",
        "extract_features",
        "regress_ridge",
        "evaluate_metrics",
        "report_summary",
    } <= set(ALL_RULES)


@pytest.mark.parametrize("rule", sorted(ALL_RULES))
def test_rule_env_provides_script_imports(rule: str) -> None:
    entry = ALL_RULES[rule]
    assert "conda" in entry, f"rule {rule} has no conda: directive"
    assert "script" in entry, f"rule {rule} has no script: directive"
    env_file = (ROOT / "rules" / entry["conda"]).resolve()
    script = (ROOT / "rules" / entry["script"]).resolve()
    needed = {CONDA_NAMES.get(m, m) for m in third_party_imports(script)}
    missing = needed - env_packages(env_file)
    assert not missing, f"{env_file.name} lacks {sorted(missing)} imported by {script.name}"


@pytest.mark.parametrize("env_file", sorted((ROOT / "envs").glob("*.yaml")), ids=lambda p: p.name)
def test_env_installs_perceptflow(env_file: Path) -> None:
    deploy = env_file.with_suffix(".post-deploy.sh")
    assert deploy.is_file(), f"{env_file.name} needs {deploy.name} to install perceptflow"
    assert re.search(r"pip install .*-e \"\$\{PERCEPTFLOW_SOURCE", deploy.read_text())
    assert {"python", "pip", "setuptools"} <= env_packages(env_file)
