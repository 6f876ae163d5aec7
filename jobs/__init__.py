"""Command line and cluster profiles."""
