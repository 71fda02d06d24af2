"""fp.cli."""
