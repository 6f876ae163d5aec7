"""Zarr stores of chi-square grids and their reduction into limits."""
