"""data/volumes."""
