"""The ``perceptflow`` command line."""
