"""ssl/volumes."""
