"""Standard human-rated datasets read from their official download layouts (``datasets.<name>.kind``)."""

from perceptflow.data.rated.bapps import BappsSet, load_bapps
from perceptflow.data.rated.layout import LayoutError
from perceptflow.data.rated.registry import RATED_KINDS, RatedKind, load_rated, score_files

__all__ = ["RATED_KINDS", "BappsSet", "LayoutError", "RatedKind", "load_bapps", "load_rated", "score_files"]
