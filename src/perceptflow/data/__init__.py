"""Reference images, image I/O and dataset tables."""

from perceptflow.data.datasets import (
    DatasetError,
    DatasetTable,
    load_csv_dataset,
    load_dataset,
    load_synthetic_dataset,
    read_table,
    save_table,
)
from perceptflow.data.demo import DEMO_SOURCES, demo_source_path, load_demo_sources
from perceptflow.data.images import ImageReadError, center_crop_resize, load_rgb

__all__ = [
    "DEMO_SOURCES",
    "DatasetError",
    "DatasetTable",
    "ImageReadError",
    "center_crop_resize",
    "demo_source_path",
    "load_csv_dataset",
    "load_dataset",
    "load_demo_sources",
    "load_rgb",
    "load_synthetic_dataset",
    "read_table",
    "save_table",
]
