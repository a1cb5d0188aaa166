"""Type aliases shared across perceptflow."""

from __future__ import annotations

from os import PathLike

import numpy as np
import numpy.typing as npt

#: An 8-bit RGB image, shape (H, W, 3), dtype uint8.
ImageArray = npt.NDArray[np.uint8]
#: A float RGB image in [0, 1], shape (H, W, 3), dtype float32 or float64.
FloatImage = npt.NDArray[np.floating]
#: A feature matrix, shape (N, D), dtype float32.
FeatureArray = npt.NDArray[np.float32]
#: Anything that names a file.
PathLikeStr = str | PathLike[str]
