"""Packaged scan specs and cluster profiles (TOML)."""
