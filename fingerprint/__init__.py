"""fp.fingerprint."""
