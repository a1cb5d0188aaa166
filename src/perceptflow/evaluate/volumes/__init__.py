"""evaluate/volumes."""
