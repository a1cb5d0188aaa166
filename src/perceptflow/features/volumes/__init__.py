"""features/volumes."""
