"""The rated-dataset kinds: ``kind`` in a config's ``datasets:`` entry -> loader and the files it reads.

Each loader takes the unpacked official download (``path:``) and returns a
:class:`perceptflow.data.datasets.DatasetTable`; ``score_files`` are what the workflow watches (editing one reruns
the dataset's table). BAPPS is a 2AFC set, read by :func:`perceptflow.data.rated.bapps.load_bapps`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from difflib import get_close_matches
from pathlib import Path

from perceptflow.data.datasets import DatasetTable
from perceptflow.data.rated import csiq, kadid10k, koniq10k, live2, pipal, tid2013


@dataclass(frozen=True)
class RatedKind:
    """A dataset kind: its loader and its score files relative to ``path:`` (folders end in ``/``)."""

    load: Callable[[Path, str], DatasetTable]
    score_files: tuple[str, ...]


RATED_KINDS: dict[str, RatedKind] = {
    "live2": RatedKind(live2.load_live2, ("dmos.mat", "refnames_all.mat")),
    "csiq": RatedKind(csiq.load_csiq, (csiq.SCORES,)),
    "tid2013": RatedKind(tid2013.load_tid2013, (tid2013.SCORES,)),
    "kadid10k": RatedKind(kadid10k.load_kadid10k, (kadid10k.SCORES,)),
    "koniq10k": RatedKind(koniq10k.load_koniq10k, (koniq10k.SCORES,)),
    "pipal": RatedKind(pipal.load_pipal, ("Train_Label/",)),
}


def load_rated(kind: str, path: str | Path, name: str) -> DatasetTable:
    """The table of dataset ``name`` of kind ``kind`` read from ``path``.

    Raises:
        KeyError: an unknown kind (close matches named).
        LayoutError: the folder lacks a file of the official layout (named).
    """
    if kind not in RATED_KINDS:
        raise KeyError(f"unknown rated dataset kind {kind!r}; close: {get_close_matches(kind, RATED_KINDS)}")
    return RATED_KINDS[kind].load(Path(path), name)


def score_files(kind: str, path: str | Path) -> list[str]:
    """The score files of a rated dataset that exist (label files of a label folder), for the workflow's inputs."""
    root, found = Path(path), []
    for relative in RATED_KINDS[kind].score_files:
        if relative.endswith("/"):
            found += sorted(str(p) for p in (root / relative).glob("*.txt"))
        elif (root / relative).is_file():
            found.append(str(root / relative))
    return found
