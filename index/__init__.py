"""fp.index."""
