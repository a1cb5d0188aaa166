"""Regression from frozen features to quality on content-separated splits."""

from perceptflow.regress.ridge import RidgeResult, fit_ridge_on_splits
from perceptflow.regress.splits import Split, content_splits, group_counts, splits_from_json, splits_to_json

__all__ = [
    "RidgeResult",
    "Split",
    "content_splits",
    "fit_ridge_on_splits",
    "group_counts",
    "splits_from_json",
    "splits_to_json",
]
