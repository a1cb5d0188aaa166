"""Frozen-encoder feature extraction into chunked Zarr v3 stores.

The store API is importable without torch; the encoder side lives in :mod:`perceptflow.features.extract`.
"""

from perceptflow.features.store import FeatureStore, read_feature_store, write_feature_store

__all__ = ["FeatureStore", "read_feature_store", "write_feature_store"]
