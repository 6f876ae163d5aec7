# The README's two commands: `make run` (the main job) and `make test` (the test suite).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Data: taken from NUBOUND_DATA_DIR if set; else from ../shared/data when it exists;
# else downloaded (pooch) into the user cache on first use.
ifeq ($(NUBOUND_DATA_DIR),)
ifneq ($(wildcard ../shared/data),)
export NUBOUND_DATA_DIR := $(abspath ../shared/data)
endif
endif

.PHONY: venv run test bench lint clean docs validation

$(BIN)/nubound: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q -e '.[test,docs]'
	touch $@

venv: $(BIN)/nubound

# The main job: a real scan (universal light vector mediator, three experiments) on a local
# Dask cluster into out/quickstart.zarr (resumed if it exists), then the limit table and a plot.
# Δχ² per mass (raster): the refined grid resolves the global best fit at 10 keV, 4.2 below the
# SM, and against it every coupling at the other masses is excluded (docs/refinement.md).
run: venv
	$(BIN)/nubound scan configs/quickstart.toml --store out/quickstart.zarr
	$(BIN)/nubound limits out/quickstart.zarr --reference per_mass
	$(BIN)/nubound plot out/quickstart.zarr -o out/quickstart.png --reference per_mass
	@echo "store: out/quickstart.zarr   plot: out/quickstart.png"

test: venv
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q
	$(MAKE) docs

# one core (one BLAS thread); -s shows the rates and ratios each module prints
bench: venv
	OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 $(BIN)/python -m pytest benchmarks \
		-o python_files='bench_*.py' --benchmark-only -q -s

# The documentation site (mkdocs.yml; warnings are errors) into site/; the API pages read the
# packages' docstrings through build/api_src/nubound/<folder> (links to the top-level folders).
docs: venv
	mkdir -p build/api_src/nubound
	for p in physics scanner storage jobs configs deploy; do ln -sfn ../../../$$p build/api_src/nubound/$$p; done
	$(BIN)/mkdocs build --strict --quiet

# docs/validation.md and the README's validation table, rescanned from the committed
# configs/paper_*.toml (a fresh out/validation/, so the run times are those of this run).
validation: venv
	rm -rf out/validation
	$(BIN)/python -m nubound.jobs.validation_report --stores out/validation

clean:
	rm -rf $(VENV) build site *.egg-info
