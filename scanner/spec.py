"""The scan spec: a TOML file read with ``tomllib`` into frozen dataclasses, strictly validated.

Layout (``spec_version = 1``)::

    spec_version = 1
    experiments = ["dresden_ii", "coherent_csi"]
    store = "scans/quickstart.zarr"        # path or fsspec URL
    confidence_level = 0.9
    data = "observed"                      # or "asimov"
    [model]
    name = "vector_universal"
    parameters = { interference = "standard" }   # fixed parameters and options
    [[axes]]
    name = "mass_MeV"
    unit = "MeV"
    scale = "log"                          # "lin" | "log" with start, stop, n; or values = [...]
    start = 0.01
    stop = 1e4
    n = 48
    [quenching]
    dresden_ii = ["fef", "ybe", "lindhard"]
    [chunks]                               # points per chunk along each axis (default: auto)
    mass_MeV = 8
    [refine]                               # optional: adaptive refinement (docs/refinement.md)
    axes = ["coupling"]                    # axes whose resolution is refined
    levels = 7                             # each level halves the step of the marked cells
    confidence_levels = [0.9]              # thresholds chi2.ppf(cl, dof), dof = 1 and len(axes)
    targets = ["combined", "each"]         # Δχ² surfaces that drive the marks

``data = "asimov"`` judges every point against the Standard-Model Asimov data of each
experiment and quenching choice (``Experiment.asimov``: n_i = μ_i of the SM at nominal
nuisances), for expected limits; every experiment of the spec must provide it.

Every error is a :class:`~nubound.physics.errors.ConfigError` naming the key path
(``axes[1].stop``), what was expected and what was found; it is raised before any work starts.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from nubound.physics.errors import ConfigError
from nubound.scanner.catalogue import PhysicsRegistry, default_registry
from nubound.scanner.size_guard import check_size, estimate_size, parse_size_limits

SPEC_VERSION = 1
DATA_KINDS = ("observed", "asimov")
SCALES = ("lin", "log")
DEFAULT_POINTS_PER_BLOCK = 16384
_TOP_KEYS = ("spec_version", "description", "model", "axes", "quenching", "experiments",
             "chunks", "store", "confidence_level", "data", "size_limits", "refine")
_REFINE_KEYS = ("axes", "levels", "confidence_levels", "targets")
REFINE_TARGETS = ("combined", "each")
MAX_REFINE_LEVELS = 16
_AXIS_KEYS = ("name", "unit", "scale", "start", "stop", "n", "values")
_MODEL_KEYS = ("name", "parameters")

Scalar = float | int | str | bool


@dataclass(frozen=True)
class ModelSpec:
    """The model's name and its fixed parameters/options (sorted name → value pairs)."""

    name: str
    parameters: tuple[tuple[str, Scalar], ...] = ()

    @property
    def fixed(self) -> dict[str, Scalar]:
        """Fixed parameters as a dict."""
        return dict(self.parameters)


@dataclass(frozen=True)
class AxisSpec:
    """One grid axis: ``values`` in ``unit``; ``scale`` is "lin", "log" or "values"."""

    name: str
    unit: str
    scale: str
    values: tuple[float, ...]

    @property
    def size(self) -> int:
        """Number of grid points."""
        return len(self.values)


@dataclass(frozen=True)
class RefineSpec:
    """Adaptive refinement (docs/refinement.md): which axes, how many levels, what drives marks."""

    axes: tuple[str, ...]
    levels: int
    confidence_levels: tuple[float, ...]
    targets: tuple[str, ...] = REFINE_TARGETS

    def same_marks(self, other: RefineSpec) -> bool:
        """True if both refine the same axes by the same rules (``levels`` may differ)."""
        return replace(self, levels=0) == replace(other, levels=0)


@dataclass(frozen=True)
class ScanSpec:
    """A validated scan spec (see the module docstring)."""

    model: ModelSpec
    axes: tuple[AxisSpec, ...]
    experiments: tuple[str, ...]
    quenching: tuple[tuple[str, tuple[str, ...]], ...]
    chunks: tuple[int, ...]
    store: str
    confidence_level: float
    data: str
    description: str = ""
    spec_version: int = SPEC_VERSION
    size_limits: tuple[tuple[str, float], ...] = ()
    refine: RefineSpec | None = None

    @property
    def shape(self) -> tuple[int, ...]:
        """Grid shape, one entry per axis."""
        return tuple(a.size for a in self.axes)

    @property
    def axis_names(self) -> tuple[str, ...]:
        """Axis names in grid order."""
        return tuple(a.name for a in self.axes)

    def quenching_for(self, experiment: str) -> tuple[str, ...]:
        """Quenching choices scanned for ``experiment`` (empty: the experiment's default)."""
        return dict(self.quenching).get(experiment, ())

    def same_scan(self, other: ScanSpec) -> bool:
        """True if both specs describe the same grid values (the store location may differ).

        ``[refine] levels`` may differ (a finished store is refined further by raising it), and
        a spec without ``[refine]`` matches one with it; the other refine keys must agree.
        """
        if self.refine is not None and other.refine is not None \
                and not self.refine.same_marks(other.refine):
            return False
        keep = {"store": "", "description": "", "refine": None, "size_limits": ()}
        return replace(self, **keep) == replace(other, **keep)


def _err(path: str, message: str) -> ConfigError:
    return ConfigError(f"{path}: {message}")


def _check_keys(table: Any, allowed: tuple[str, ...], path: str) -> dict:
    if not isinstance(table, dict):
        raise _err(path, f"expected a table, got {type(table).__name__}")
    unknown = sorted(set(table) - set(allowed))
    if unknown:
        where = f"{path}." if path else ""
        raise _err(where + unknown[0], f"unknown key; allowed keys: {', '.join(allowed)}")
    return table


def _number(value: Any, path: str, *, positive: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _err(path, f"expected a number, got {value!r}")
    if not math.isfinite(value):
        raise _err(path, f"expected a finite number, got {value!r}")
    if positive and value <= 0:
        raise _err(path, f"expected a number > 0, got {value!r}")
    return float(value)


def _is_mass(name: str) -> bool:
    return name.startswith("mass") or "_mass" in name


def _check_range(values: list[float], bounds: tuple[float, float] | None, path: str) -> None:
    if bounds is None:
        return
    lo, hi = bounds
    for v in values:
        if not lo <= v <= hi:
            raise _err(path, f"got {v!r}; allowed range of this parameter: [{lo:g}, {hi:g}]")


def _axis(raw: Any, i: int, units: dict[str, str], model: str,
          ranges: dict[str, tuple[float, float]]) -> AxisSpec:
    path = f"axes[{i}]"
    raw = _check_keys(raw, _AXIS_KEYS, path)
    name = raw.get("name")
    if name not in units:
        raise _err(f"{path}.name", f"got {name!r}; parameters of model '{model}': "
                   + ", ".join(units))
    unit = raw.get("unit")
    if unit != units[name]:
        raise _err(f"{path}.unit", f"got {unit!r}; allowed unit for {name}: '{units[name]}'")
    positive = _is_mass(name)
    if "values" in raw:
        extra = sorted(set(raw) & {"scale", "start", "stop", "n"})
        if extra:
            raise _err(f"{path}.{extra[0]}", "give either values = [...] or scale/start/stop/n")
        vals = raw["values"]
        if not isinstance(vals, list) or not vals:
            raise _err(f"{path}.values", f"expected a non-empty list of numbers, got {vals!r}")
        values = [_number(v, f"{path}.values[{j}]", positive=positive) for j, v in enumerate(vals)]
        if len(set(values)) != len(values):
            raise _err(f"{path}.values", "values must be distinct")
        _check_range(values, ranges.get(name), f"{path}.values")
        return AxisSpec(name, unit, "values", tuple(values))
    scale = raw.get("scale")
    if scale not in SCALES:
        raise _err(f"{path}.scale", f"got {scale!r}; allowed: {', '.join(SCALES)} "
                   "(or give values = [...])")
    start = _number(raw.get("start"), f"{path}.start", positive=positive or scale == "log")
    stop = _number(raw.get("stop"), f"{path}.stop", positive=positive or scale == "log")
    n = raw.get("n")
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise _err(f"{path}.n", f"expected an integer >= 1, got {n!r}")
    if start == stop and n > 1:
        raise _err(f"{path}.stop", f"empty range: start = stop = {start!r} with n = {n}")
    _check_range([start], ranges.get(name), f"{path}.start")
    _check_range([stop], ranges.get(name), f"{path}.stop")
    grid = np.geomspace(start, stop, n) if scale == "log" else np.linspace(start, stop, n)
    return AxisSpec(name, unit, scale, tuple(float(v) for v in grid))


def _string_list(value: Any, path: str, allowed: tuple[str, ...]) -> tuple[str, ...]:
    if not isinstance(value, list) or not value:
        raise _err(path, f"expected a non-empty list; allowed: {', '.join(allowed)}")
    for j, item in enumerate(value):
        if item not in allowed:
            raise _err(f"{path}[{j}]", f"got {item!r}; allowed: {', '.join(allowed)}")
    if len(set(value)) != len(value):
        raise _err(path, "entries must be distinct")
    return tuple(value)


def default_chunks(shape: tuple[int, ...],
                   points: int = DEFAULT_POINTS_PER_BLOCK) -> tuple[int, ...]:
    """Points per chunk along each axis: fill the last axes first up to ``points`` per block."""
    chunks = []
    budget = max(1, points)
    for n in reversed(shape):
        c = max(1, min(n, budget))
        chunks.append(c)
        budget //= c
    return tuple(reversed(chunks))


def _check_raw_points(axes_raw: list, limits: dict[str, float]) -> None:
    """Refuse a grid with too many points from the axes' ``n``/``values`` alone."""
    sizes = []
    for a in axes_raw:
        n = a.get("n") if isinstance(a, dict) else None
        if isinstance(a, dict) and isinstance(a.get("values"), list):
            n = len(a["values"])
        if isinstance(n, int) and not isinstance(n, bool) and n > 0:
            sizes.append((a.get("name"), n))
    check_size(estimate_size([n for _, n in sizes]), limits,
               axes=" × ".join(f"{name} {n}" for name, n in sizes))


def _refine(raw: Any, axes: tuple[AxisSpec, ...], cl: float) -> RefineSpec | None:
    if raw is None:
        return None
    raw = _check_keys(raw, _REFINE_KEYS, "refine")
    names = tuple(a.name for a in axes)
    if "axes" not in raw:
        raise _err("refine.axes", f"missing; give a list of axis names from: {', '.join(names)}")
    refined = _string_list(raw["axes"], "refine.axes", names)
    for name in refined:
        if axes[names.index(name)].size < 2:
            raise _err("refine.axes", f"axis '{name}' has one point; it cannot be refined")
    refined = tuple(n for n in names if n in refined)  # grid order
    levels = raw.get("levels")
    if isinstance(levels, bool) or not isinstance(levels, int) \
            or not 0 <= levels <= MAX_REFINE_LEVELS:
        raise _err("refine.levels", f"expected an integer 0..{MAX_REFINE_LEVELS}, got {levels!r}")
    cls_raw = raw.get("confidence_levels", [cl])
    if not isinstance(cls_raw, list) or not cls_raw:
        raise _err("refine.confidence_levels", f"expected a non-empty list, got {cls_raw!r}")
    cls = []
    for j, value in enumerate(cls_raw):
        value = _number(value, f"refine.confidence_levels[{j}]")
        if not 0 < value < 1:
            raise _err(f"refine.confidence_levels[{j}]", f"expected 0 < value < 1, got {value!r}")
        cls.append(value)
    targets = _string_list(raw.get("targets", list(REFINE_TARGETS)), "refine.targets",
                           REFINE_TARGETS)
    return RefineSpec(refined, levels, tuple(sorted(set(cls))),
                      tuple(t for t in REFINE_TARGETS if t in targets))


def validate_spec(raw: dict, *, registry: PhysicsRegistry | None = None) -> ScanSpec:
    """Validate a parsed TOML document into a :class:`ScanSpec` (raise ConfigError)."""
    reg = registry or default_registry()
    raw = _check_keys(raw, _TOP_KEYS, "")
    version = raw.get("spec_version")
    if version != SPEC_VERSION:
        raise _err("spec_version", f"got {version!r}; allowed: {SPEC_VERSION}")
    model_raw = _check_keys(raw.get("model"), _MODEL_KEYS, "model")
    models = reg.models()
    name = model_raw.get("name")
    if name not in models:
        raise _err("model.name", f"got {name!r}; allowed: {', '.join(models)}")
    info = models[name]
    params_raw = _check_keys(model_raw.get("parameters", {}),
                             tuple(info.parameters) + tuple(info.options), "model.parameters")
    fixed: dict[str, Scalar] = {}
    for key, value in params_raw.items():
        path = f"model.parameters.{key}"
        if key in info.options:
            if value not in info.options[key]:
                raise _err(path, f"got {value!r}; allowed: {', '.join(info.options[key])}")
            fixed[key] = value
        else:
            fixed[key] = _number(value, path, positive=_is_mass(key))
            _check_range([fixed[key]], info.ranges.get(key), path)
    axes_raw = raw.get("axes")
    if not isinstance(axes_raw, list) or not axes_raw:
        raise _err("axes", "expected at least one [[axes]] table")
    size_limits = parse_size_limits(raw.get("size_limits", {}))
    _check_raw_points(axes_raw, dict(size_limits))  # before any grid array is built
    axes = tuple(_axis(a, i, info.parameters, name, info.ranges)
                 for i, a in enumerate(axes_raw))
    names = [a.name for a in axes]
    for i, a in enumerate(axes):
        if names.index(a.name) != i:
            raise _err(f"axes[{i}].name", f"axis '{a.name}' appears twice")
        if a.name in fixed:
            raise _err(f"model.parameters.{a.name}", "is also a scan axis; remove one of them")
    experiments = _string_list(raw.get("experiments"), "experiments", reg.experiment_names())
    q_raw = _check_keys(raw.get("quenching", {}), experiments, "quenching")
    quenching = []
    for exp in experiments:
        if exp in q_raw:
            allowed = reg.quenching_choices(exp)
            if not allowed:
                raise _err(f"quenching.{exp}", "this experiment has no quenching choices")
            quenching.append((exp, _string_list(q_raw[exp], f"quenching.{exp}", allowed)))
    chunks_raw = _check_keys(raw.get("chunks", {}), tuple(names), "chunks")
    auto = default_chunks(tuple(a.size for a in axes))
    chunks = []
    for a, c_auto in zip(axes, auto, strict=True):
        c = chunks_raw.get(a.name, c_auto)
        if isinstance(c, bool) or not isinstance(c, int) or c < 1:
            raise _err(f"chunks.{a.name}", f"expected an integer >= 1, got {c!r}")
        chunks.append(min(c, a.size))
    store = raw.get("store")
    if not isinstance(store, str) or not store:
        raise _err("store", f"expected a path or fsspec URL string, got {store!r}")
    cl = _number(raw.get("confidence_level", 0.9), "confidence_level")
    if not 0 < cl < 1:
        raise _err("confidence_level", f"expected 0 < value < 1, got {cl!r}")
    data = raw.get("data", "observed")
    if data not in DATA_KINDS:
        raise _err("data", f"got {data!r}; allowed: {', '.join(DATA_KINDS)}")
    description = raw.get("description", "")
    if not isinstance(description, str):
        raise _err("description", f"expected a string, got {description!r}")
    columns = sum(len(dict(quenching).get(exp, ())) or 1 for exp in experiments)
    check_size(estimate_size([a.size for a in axes], chunks, columns), dict(size_limits),
               axes=" × ".join(f"{a.name} {a.size}" for a in axes))
    return ScanSpec(
        model=ModelSpec(name, tuple(sorted(fixed.items()))), axes=axes, experiments=experiments,
        quenching=tuple(quenching), chunks=tuple(chunks), store=store, confidence_level=cl,
        data=data, description=description, size_limits=size_limits,
        refine=_refine(raw.get("refine"), axes, cl),
    )


def parse_spec(text: str, *, registry: PhysicsRegistry | None = None,
               source: str = "<spec>") -> ScanSpec:
    """Parse TOML text and validate it."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: not valid TOML: {exc}") from None
    return validate_spec(raw, registry=registry)


def spec_of_store(url: str, *, registry: PhysicsRegistry | None = None) -> ScanSpec:
    """The spec a scan store was made from (its ``spec_toml`` attribute), ``store`` = ``url``.

    ``nubound scan STORE`` resumes or repairs a store without its spec file.
    """
    from nubound.storage.store import normalize_url, read_attrs

    url = normalize_url(str(url))
    try:
        text = read_attrs(url).get("spec_toml")
    except (OSError, LookupError, ValueError):
        text = None
    if not isinstance(text, str):
        raise ConfigError(f"{url} is neither a spec file nor a nubound scan store")
    return replace(parse_spec(text, registry=registry, source=f"{url} attrs"), store=url)


def load_spec(path: str | Path, *, registry: PhysicsRegistry | None = None) -> ScanSpec:
    """Read and validate a spec file (or take the spec of a scan store: :func:`spec_of_store`)."""
    if "://" in str(path) or Path(path).is_dir():
        return spec_of_store(str(path), registry=registry)
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read spec {path}: {exc.strerror}") from None
    return parse_spec(text, registry=registry, source=str(path))
