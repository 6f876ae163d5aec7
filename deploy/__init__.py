"""Deployment files for real clusters (batch templates, dask-jobqueue configuration)."""
