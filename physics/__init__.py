"""nubound's physics core: pure numpy/scipy functions, no Dask, no storage."""
