"""perceptflow: learn a perceptual quality metric without human labels."""

__version__ = "0.1.0"
