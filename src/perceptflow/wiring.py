"""Everything the workflow needs while Snakemake parses the Snakefile, torch-free (parsing happens once per job).

The rules import this module only: method names and their settings (2D and 3D), DPS variants, reference files a
rule reads, canonical params, and `code_version`, the hash of exactly the library code a rule's script runs.

Code hashing follows each script's import closure: the perceptflow modules its script imports, recursively,
counting imports inside functions, the parent packages every import runs, and the module behind each name a
package exports lazily (PEP 562 ``_EXPORTS`` tables), only when that name is imported. Editing a 3D-only module
therefore reruns the 3D rules and what follows
them, never a 2D rule, and the other way round (docs/architecture.md).
"""

from __future__ import annotations

import ast
import hashlib
import re
from collections.abc import Iterable, Mapping
from functools import cache
from pathlib import Path
from typing import Any

from perceptflow.data.images import IMAGE_SUFFIXES, image_files, reference_folders
from perceptflow.data.volumes.nifti import NIFTI_SUFFIXES
from perceptflow.metric.variants import VARIANTS
from perceptflow.ssl.method_params import METHOD_NAMES, resolve_method_params
from perceptflow.ssl.volumes.config import DEFAULT_WIDTHS, VOLUME_METHOD_NAMES, resolve_volume_method_params

__all__ = [
    "DEFAULT_WIDTHS",
    "IMAGE_SUFFIXES",
    "METHOD_NAMES",
    "NIFTI_SUFFIXES",
    "VARIANTS",
    "VOLUME_METHOD_NAMES",
    "bapps_score_folders",
    "canonical",
    "code_version",
    "import_closure",
    "is_bapps_dataset",
    "module_file",
    "reference_files",
    "resolve_method_params",
    "resolve_volume_method_params",
    "variant_pattern",
    "volume_reference_files",
]


def canonical(value: Any) -> Any:
    """``value`` with every mapping's keys sorted (recursively) and tuples as lists: the same meaning gives the
    same params whatever order a config file lists its keys in; list order is kept (it carries meaning)."""
    if isinstance(value, Mapping):
        return {str(key): canonical(value[key]) for key in sorted(value, key=str)}
    if isinstance(value, list | tuple):
        return [canonical(item) for item in value]
    return value


def variant_pattern() -> str:
    """Wildcard constraint matching exactly the metric variants (`perceptflow.metric.variants.VARIANTS`)."""
    return "|".join(re.escape(name) for name in VARIANTS)


def reference_files(spec: Mapping[str, Any]) -> list[str]:
    """The image files of a ``distort.references`` folder (kind ``folder``), so new or edited files rerun the bank;
    [] for the bundled demo photographs."""
    if spec.get("kind") != "folder":
        return []
    return [str(path) for folder in reference_folders(spec["path"]) for path in image_files(folder)]


def rated_score_files(spec: Mapping[str, Any]) -> list[str] | None:
    """The score files of a standard rated dataset (``live2``, ``csiq``, ...: `perceptflow.data.rated`) that exist,
    so editing one rebuilds the dataset's table; None for other kinds. A missing file is reported by regress_splits,
    naming it."""
    from perceptflow.data.rated.registry import RATED_KINDS, score_files

    kind = spec.get("kind")
    if kind not in RATED_KINDS or "path" not in spec:
        return None
    return score_files(str(kind), spec["path"])


def is_bapps_dataset(spec: Mapping[str, Any]) -> bool:
    """True for a 2AFC dataset (kind ``bapps``): scored by ``evaluate_bapps``, never extracted or regressed."""
    return spec.get("kind") == "bapps"


def bapps_score_folders(spec: Mapping[str, Any]) -> list[str]:
    """The human-judgement folders of a ``bapps`` dataset, for the rule's inputs; a broken layout raises
    `perceptflow.data.rated.LayoutError` naming what is missing, while the workflow is parsed."""
    from perceptflow.data.rated.bapps import score_folders

    return [str(p) for p in score_folders(Path(spec["path"]), tuple(spec.get("splits") or ["val"]))]


def volume_reference_files(spec: Mapping[str, Any]) -> list[str]:
    """The NIfTI files of ``volumes.references`` (folder or CSV kind; the CSV itself too) that exist: with
    ``on_error: skip`` a missing file is listed in skipped.csv by the bank rather than failing the DAG."""
    from perceptflow.data.volumes.sources import collect_volume_sources

    kind = spec.get("kind", "demo")
    if kind not in ("folder", "csv"):
        return []
    try:
        sources = collect_volume_sources(spec)
    except (ValueError, OSError):  # the bank rule reports it with the file named
        return [spec["path"]] if kind == "csv" and Path(spec["path"]).is_file() else []
    files = sorted(str(path) for path in sources.values() if Path(path).is_file())
    return [str(spec["path"]), *files] if kind == "csv" else files


def package_root() -> Path:
    """Source folder of the perceptflow package that runs (the installed, editable one), found without importing
    anything more than this module did."""
    return Path(__file__).resolve().parent


def module_file(name: str, root: Path) -> Path | None:
    """The source file of module ``name`` (``perceptflow.x.y``) under ``root``, or None when it is no module."""
    parts = name.split(".")[1:]
    base = root.joinpath(*parts)
    if base.with_suffix(".py").is_file():
        return base.with_suffix(".py")
    if (base / "__init__.py").is_file():
        return base / "__init__.py"
    return None


def lazy_exports(init: Path) -> dict[str, str]:
    """A package ``__init__``'s PEP 562 table ``_EXPORTS`` (public name -> module), {} when it has none."""
    for node in ast.parse(init.read_text(), filename=str(init)).body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "_EXPORTS" for t in node.targets):
            table = ast.literal_eval(node.value)
            return {str(k): str(v) for k, v in table.items()}
    return {}


def _runtime_nodes(tree: ast.AST) -> Iterable[ast.AST]:
    """Every node of ``tree`` except those under ``if TYPE_CHECKING:`` (imports for the type checker only)."""
    for child in ast.iter_child_nodes(tree):
        if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
            yield from (n for stmt in child.orelse for n in _runtime_nodes_of(stmt))
            continue
        yield child
        yield from _runtime_nodes(child)


def _runtime_nodes_of(stmt: ast.AST) -> Iterable[ast.AST]:
    yield stmt
    yield from _runtime_nodes(stmt)


def _imports(path: Path, root: Path) -> Iterable[str]:
    """Module names ``path`` may import: every import statement (functions included); ``from X import y`` also
    yields ``X.y`` (a submodule or not) and, when ``X`` exports ``y`` lazily (`lazy_exports`), the module that
    defines it."""
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in _runtime_nodes(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module
            init = module_file(node.module, root) if node.module.startswith("perceptflow") else None
            exports = lazy_exports(init) if init is not None and init.name == "__init__.py" else {}
            for alias in node.names:
                yield f"{node.module}.{alias.name}"
                if alias.name in exports:
                    yield exports[alias.name]


def import_closure(script: Path, root: Path | None = None) -> list[Path]:
    """Source files of every perceptflow module ``script`` can import (see the module docstring), sorted."""
    root = root or package_root()
    seen: set[Path] = set()
    pending = [script]
    while pending:
        path = pending.pop()
        for name in _imports(path, root):
            if name != "perceptflow" and not name.startswith("perceptflow."):
                continue
            parts = name.split(".")
            for depth in range(1, len(parts) + 1):  # importing a.b.c runs a/__init__ and a/b/__init__ first
                found = module_file(".".join(parts[:depth]), root)
                if found is not None and found not in seen:
                    seen.add(found)
                    pending.append(found)
    return sorted(seen)


@cache
def code_version(script: str, root: str | None = None) -> str:
    """Hash of the library sources in ``script``'s import closure (paths relative to the package and contents)."""
    package = Path(root) if root else package_root()
    digest = hashlib.sha256()
    for path in import_closure(Path(script), package):
        digest.update(str(path.relative_to(package)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]
