"""distortions/dps."""
