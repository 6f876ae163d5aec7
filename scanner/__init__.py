"""Scan specs, chunk plans and the Dask submission loop."""
