"""Reductions of stored χ² grids into limits (docs/design.md#limits-contract;
docs/statistics.md#limits).

A store holds one χ² grid per experiment, ``chi2_<experiment>``, over the model axes (plus a
quenching dimension where the experiment has quenching choices). The steps, in order:

1. **Quenching, per experiment first**: ``"profile"`` = minimum over that experiment's choices,
   or one named choice (docs/statistics.md#limits).
2. **Combination**: sum of the experiments' χ² on their shared axes (coordinates must agree).
3. **Nuisance or hidden axes**: ``profile`` (minimum) or ``marginalize`` (Bayesian:
   χ²_eff = −2 ln ∫ e^{−χ²/2} π(x) dx with a normalised prior π flat in x or in ln x over the
   grid's range; the prior-range constant cancels in Δχ²).
4. **Δχ²** against the minimum of the combination: global by default
  (docs/statistics.md#reference-minimum); ``per_mass``
   (raster scan: minimum at each mass) or ``sm`` (the Standard-Model point at each mass, i.e.
   every coupling 0, whose χ² the caller passes as ``sm``: a Dataset like the store on the
   SM grid, see :func:`nubound.scanner.reference.sm_chi2`) on request.
5. **Threshold** ``scipy.stats.chi2.ppf(cl, dof)`` (dof stated in the result), e.g. 2.706 for
   90 % CL and 1 dof, 4.605 for 2 dof (docs/statistics.md#limits). A strictly one-sided 90 % limit
   in
   Wilks' asymptotics would be Δχ² = 1.64, i.e. ``cl=0.8``: the caller states it.

Upper limits on a coupling (:func:`coupling_limits`). The excluded set at fixed mass is
{Δχ² > threshold}; it need not be a half line: the universal vector mediator interferes
destructively with the SM, so a band of larger couplings where the rate returns to the SM can be
allowed again. nubound defines ``coupling_upper`` as the **smallest coupling above which every
grid coupling is excluded**, i.e. the upper end of the highest allowed interval — the outer
boundary of the excluded region that the reference analysis draws. ``coupling_first_crossing``
is the upper end of the lowest allowed interval (the first exclusion when coming from the SM),
and all allowed intervals are returned (``allowed_lower``/``allowed_upper`` along ``interval``).
A band narrower than the coupling grid step is invisible to the grid: ``coupling_upper`` then
drops to the first crossing at that mass (compare ``n_allowed_intervals`` of neighbouring masses
and refine the coupling axis around the band).

Grid edges are never quoted as limits: when the highest grid coupling is still allowed (the limit
lies above the grid) or no coupling is allowed (below the grid), ``coupling_upper`` is NaN,
``at_grid_edge`` is True and ``status`` says which; a mass column with uncomputed (NaN) cells
gives NaN with ``status = "incomplete"``. When the SM point's χ² is known (``sm``), a mass
where the data prefer a BSM signal over the SM by more than the threshold
(``sm_delta_chi2`` = χ²_SM − the reference minimum > threshold) is flagged ``bsm_preferred``;
with no allowed coupling there, its status is ``"bsm_preferred"`` instead of ``"below_grid"``.
Everything works on dask-backed (``open_zarr``) data: reductions stay lazy and only the reduced
grid is computed.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Mapping, Sequence

import numpy as np
import xarray as xr
from scipy import stats

from nubound.physics.errors import ConfigError
from nubound.storage.contours import allowed_intervals_1d, axis_scale, pack_intervals
from nubound.storage.spec_attrs import stored_spec

CHI2_PREFIX = "chi2_"
PROFILE = "profile"
MARGINALIZE = "marginalize"
#: the minima Δχ² can be taken against (module docstring, step 4)
REFERENCES = ("global", "per_mass", "sm")

Quenching = str | Mapping[str, str]


def threshold(cl: float, dof: int) -> float:
    """Δχ² level of confidence level ``cl`` for ``dof`` parameters: ``chi2.ppf(cl, dof)``.

    Examples
    --------
    >>> round(threshold(0.9, 1), 3), round(threshold(0.9, 2), 3)
    (2.706, 4.605)
    """
    if not 0.0 < cl < 1.0:
        raise ConfigError(f"cl: must lie in (0, 1), got {cl}")
    if int(dof) != dof or dof < 1:
        raise ConfigError(f"dof: must be a positive integer, got {dof}")
    return float(stats.chi2.ppf(cl, int(dof)))


def available_experiments(ds: xr.Dataset) -> list[str]:
    """Names of the experiments stored in ``ds`` (variables ``chi2_<experiment>``), sorted
    (a Zarr store does not keep the order in which variables were written)."""
    return sorted(str(v)[len(CHI2_PREFIX):] for v in ds.data_vars
                  if str(v).startswith(CHI2_PREFIX))


def quenching_dims(da: xr.DataArray) -> list[str]:
    """The quenching dimensions of one χ² grid (``quenching`` or ``quenching_<experiment>``)."""
    return [str(d) for d in da.dims if d == "quenching" or str(d).startswith("quenching_")]


def model_axes(da: xr.DataArray) -> list[str]:
    """The model axes of a χ² grid: its dims without the quenching ones."""
    qdims = quenching_dims(da)
    return [str(d) for d in da.dims if d not in qdims]


def quenching_labels(da: xr.DataArray, dim: str) -> list[str]:
    """Names of the quenching choices along ``dim``.

    Labels are the coordinate values when they are strings; for an integer index coordinate
    (or none) they come from ``attrs["quenching_choices"]`` of the variable, or
    ``attrs["choices"]``/``attrs["quenching_choices"]`` of the coordinate (storage/store.py's
    encoding; a list, or a comma-separated string), index i naming choice i.
    """
    values = np.asarray(da[dim].values) if dim in da.coords else np.arange(da.sizes[dim])
    if values.dtype.kind in "USO":
        return [str(v) for v in values]
    names = da.attrs.get("quenching_choices")
    for key in ("choices", "quenching_choices"):
        if names is None and dim in da.coords:
            names = da[dim].attrs.get(key)
    if names is None:
        return [str(int(v)) for v in values]
    if isinstance(names, str):
        names = [n.strip() for n in names.split(",")]
    return [str(names[int(v)]) for v in values]


def _choice_for(experiment: str, quenching: Quenching) -> str:
    if isinstance(quenching, str):
        return quenching
    return quenching.get(experiment, PROFILE)


def experiment_chi2(
    ds: xr.Dataset, experiment: str, quenching: Quenching = PROFILE
) -> xr.DataArray:
    """One experiment's χ² grid with its quenching dimension(s) profiled or fixed.

    ``quenching``: ``"profile"`` (minimum over the choices; NaN propagates), a choice name, or a
    mapping experiment → (``"profile"`` | name). A name is ignored by experiments without
    quenching choices and an error for one whose choices do not include it.
    """
    var = f"{CHI2_PREFIX}{experiment}"
    if var not in ds.data_vars:
        raise ConfigError(
            f"experiments: '{experiment}' is not in the store; available: "
            f"{', '.join(available_experiments(ds)) or '(none)'}"
        )
    da = ds[var]
    choice = _choice_for(experiment, quenching)
    for dim in quenching_dims(da):
        if choice == PROFILE:
            da = da.min(dim, skipna=False, keep_attrs=True)
            continue
        labels = quenching_labels(ds[var], dim)
        if choice not in labels:
            raise ConfigError(
                f"quenching: '{choice}' is not a choice of {experiment}; allowed: "
                f"{PROFILE}, {', '.join(labels)}"
            )
        da = da.isel({dim: labels.index(choice)}, drop=True)
    return da


def _describe_quenching(experiments: Sequence[str], quenching: Quenching) -> str:
    if isinstance(quenching, str):
        return quenching
    return ",".join(f"{e}={_choice_for(e, quenching)}" for e in experiments)


def combined_chi2(
    ds: xr.Dataset, experiments: Sequence[str] | None = None, quenching: Quenching = PROFILE
) -> xr.DataArray:
    """Sum of the experiments' χ² (quenching treated per experiment first) on shared axes.

    ``experiments`` defaults to every ``chi2_*`` variable of the store. The grids must have the
    same model axes with identical coordinates; otherwise a ConfigError names them.
    attrs: ``experiments``, ``quenching``, ``model``, ``data`` (from the store).
    """
    names = list(experiments) if experiments else available_experiments(ds)
    if not names:
        raise ConfigError("experiments: the store holds no chi2_<experiment> variable")
    grids = [experiment_chi2(ds, name, quenching) for name in names]
    axes = [set(g.dims) for g in grids]
    if any(a != axes[0] for a in axes):
        raise ConfigError(
            "experiments: cannot combine grids on different axes: "
            + "; ".join(f"{n}: {sorted(a)}" for n, a in zip(names, axes, strict=True))
        )
    try:
        grids = list(xr.align(*grids, join="exact"))
    except ValueError as exc:
        raise ConfigError(f"experiments {names}: coordinates of the grids differ ({exc})") from None
    total = functools.reduce(operator.add, grids).rename("chi2")
    total.attrs = {
        "experiments": names,
        "quenching": _describe_quenching(names, quenching),
        "model": model_name(ds.attrs),
        "data": data_kind(ds.attrs),
    }
    return total


def model_name(attrs: Mapping) -> str:
    """The model's name: ``attrs["model"]`` (a string or a mapping with ``name``), else the
    ``[model] name`` of the scan spec stored as ``attrs["spec_toml"]``; "" if neither."""
    model = attrs.get("model")
    if isinstance(model, Mapping):
        return str(model.get("name", ""))
    if model:
        return str(model)
    model = stored_spec(attrs).get("model")
    return str(model.get("name", "")) if isinstance(model, Mapping) else ""


def confidence_level(attrs: Mapping, default: float = 0.9) -> float:
    """The ``confidence_level`` of the scan spec stored as ``attrs["spec_toml"]`` (``default``
    when the store has none).

    Examples
    --------
    >>> confidence_level({"spec_toml": "confidence_level = 0.95"})
    0.95
    >>> confidence_level({})
    0.9
    """
    try:
        return float(stored_spec(attrs)["confidence_level"])
    except (KeyError, TypeError, ValueError):
        return default


def data_kind(attrs: Mapping) -> str:
    """``"observed"`` or ``"asimov"`` from ``attrs["data"]`` or ``attrs["data_kind"]``."""
    return str(attrs.get("data") or attrs.get("data_kind") or "")


def reduce_axes(
    chi2: xr.DataArray,
    dims: Sequence[str],
    method: str = PROFILE,
    *,
    prior: str | Mapping[str, str] = "flat",
) -> xr.DataArray:
    """Remove axes from a χ² grid by profiling or marginalizing.

    ``method="profile"``: minimum over ``dims`` (NaN propagates).
    ``method="marginalize"``: χ²_eff = −2 ln ∫ e^{−χ²/2} π(x) dx per axis (trapezoid rule on the
    grid), with π normalised on the grid's range and ``prior`` ``"flat"`` (uniform in x) or
    ``"log"`` (uniform in ln x; positive axes only), given once or per axis.
    """
    attrs = dict(chi2.attrs)
    if method == PROFILE:
        out = chi2.min(list(dims), skipna=False) if dims else chi2
    elif method == MARGINALIZE:
        out = chi2
        for dim in dims:
            kind = prior if isinstance(prior, str) else prior.get(dim, "flat")
            out = _marginalize(out, dim, kind)
    else:
        raise ConfigError(
            f"nuisance: '{method}' is not a method; allowed: {PROFILE}, {MARGINALIZE}"
        )
    out.attrs = attrs | {"reduced": f"{method}({', '.join(dims)})"} if dims else attrs
    return out


def _marginalize(chi2: xr.DataArray, dim: str, prior: str) -> xr.DataArray:
    x = np.asarray(chi2[dim].values, dtype=float)
    if prior == "flat":
        t = x
    elif prior == "log":
        if np.any(x <= 0):
            raise ConfigError(f"prior: 'log' needs a positive axis; {dim} has values ≤ 0")
        t = np.log(x)
    else:
        raise ConfigError(f"prior: '{prior}' for {dim} is not a prior; allowed: flat, log")
    if x.size < 2:
        raise ConfigError(f"nuisance: cannot marginalize over {dim} with {x.size} grid point")
    floor = chi2.min(dim, skipna=False)
    like = np.exp(-0.5 * (chi2 - floor)).assign_coords({"_t": (dim, t)}).swap_dims({dim: "_t"})
    mean_like = like.integrate("_t") / (t.max() - t.min())
    return floor - 2.0 * np.log(mean_like)


def delta_chi2(chi2: xr.DataArray, *, over: Sequence[str] | None = None) -> xr.DataArray:
    """Δχ² = χ² − min χ², the minimum taken over ``over`` (default: every axis, the global one).

    NaN cells (not yet computed) are skipped when finding the minimum and stay NaN.
    """
    dims = list(chi2.dims) if over is None else list(over)
    out = chi2 - chi2.min(dims, skipna=True)
    out.attrs = dict(chi2.attrs) | {"chi2_min": float(chi2.min(skipna=True))}
    return out


def find_axis(dims: Sequence[str], kind: str) -> str:
    """The mass (dims named ``mass*``) or coupling (``coupling*``/``g*``) axis among ``dims``."""
    prefixes = {"mass": ("mass",), "coupling": ("coupling", "g_", "g")}[kind]
    hits = [d for d in dims if d.startswith(prefixes)]
    if kind == "coupling" and "coupling" in dims:
        return "coupling"
    if len(hits) != 1:
        raise ConfigError(f"{kind}: cannot tell the {kind} axis among {list(dims)}; name it")
    return hits[0]


def coupling_limits(
    ds: xr.Dataset,
    *,
    experiments: Sequence[str] | None = None,
    quenching: Quenching = PROFILE,
    cl: float = 0.9,
    dof: int = 1,
    mass: str | None = None,
    coupling: str | None = None,
    nuisance: str = PROFILE,
    prior: str | Mapping[str, str] = "flat",
    reference: str = "global",
    sm: xr.Dataset | None = None,
    critical: xr.DataArray | None = None,
) -> xr.Dataset:
    """Upper limit on the coupling at each mediator mass (definitions: module docstring).

    ``sm``: the χ² at the SM point (the store's variables on a grid with every non-mass axis
    of length 1 at 0); needed for ``reference="sm"``, optional otherwise (it adds
    ``sm_delta_chi2`` and ``bsm_preferred``).
    ``critical``: Feldman–Cousins critical values over (mass, coupling) (NaN: Wilks'
    threshold) instead of the constant threshold (:func:`calibrated_delta_chi2`).

    Returns
    -------
    xr.Dataset along the mass axis: ``coupling_upper`` (NaN unless inside the grid),
    ``at_grid_edge`` (bool), ``status`` ("ok" | "above_grid" | "below_grid" | "incomplete"),
    ``coupling_first_crossing``, ``n_allowed_intervals``, ``sm_delta_chi2`` (NaN without
    ``sm``), ``bsm_preferred`` (bool), and along (mass, ``interval``)
    ``allowed_lower``, ``allowed_upper``, ``lower_at_edge``, ``upper_at_edge`` (NaN/False
    padding). attrs: model, data, experiments, quenching, cl, dof, threshold, reference,
    nuisance, coupling_scale, chi2_min.
    """
    chi2 = combined_chi2(ds, experiments, quenching)
    axes = model_axes(chi2)
    mass = mass or find_axis(axes, "mass")
    coupling = coupling or find_axis([a for a in axes if a != mass], "coupling")
    others = [a for a in axes if a not in (mass, coupling)]
    chi2 = reduce_axes(chi2, others, nuisance, prior=prior).compute().transpose(mass, coupling)
    _check_reference(reference, sm)
    chi2_sm = (sm_point_chi2(sm, experiments, quenching, keep=[mass]).transpose(mass)
               if sm is not None else None)
    if reference == "sm":
        dchi2 = chi2 - chi2_sm
        dchi2.attrs = dict(chi2.attrs) | {"chi2_min": float(chi2.min(skipna=True))}
    else:
        dchi2 = delta_chi2(chi2, over=None if reference == "global" else [coupling])
    level = threshold(cl, dof)
    ref_min = chi2.min(skipna=True) if reference == "global" else chi2.min(coupling, skipna=True)
    sm_delta = (np.asarray(chi2_sm - ref_min, dtype=float) * np.ones(chi2.sizes[mass])
                if chi2_sm is not None else np.full(chi2.sizes[mass], np.nan))
    preferred = sm_delta > level
    dchi2 = calibrated_delta_chi2(dchi2, level, critical)
    scale = axis_scale(dchi2[coupling])
    g = np.asarray(dchi2[coupling].values, dtype=float)
    per_mass = [
        allowed_intervals_1d(g, row, level, scale=scale) for row in np.asarray(dchi2.values)
    ]
    packed = pack_intervals(per_mass)
    n_mass = len(per_mass)
    limit, first = np.full(n_mass, np.nan), np.full(n_mass, np.nan)
    edge, status = np.zeros(n_mass, bool), np.full(n_mass, "ok", dtype=object)
    for i, ivs in enumerate(per_mass):
        if ivs is None:
            status[i] = "incomplete"
        elif not ivs:
            status[i], edge[i] = ("bsm_preferred" if preferred[i] else "below_grid"), True
        elif ivs[-1].upper_at_edge:
            status[i], edge[i] = "above_grid", True
        else:
            limit[i] = ivs[-1].upper
        if ivs and not ivs[0].upper_at_edge:
            first[i] = ivs[0].upper
    m = dchi2[mass]
    mi = (mass, "interval")
    g_attrs = dict(chi2[coupling].attrs)
    return xr.Dataset(
        {
            "coupling_upper": (mass, limit, g_attrs),
            "at_grid_edge": (mass, edge),
            "status": (mass, status.astype(str)),
            "coupling_first_crossing": (mass, first, g_attrs),
            "n_allowed_intervals": (mass, packed["count"]),
            "sm_delta_chi2": (mass, sm_delta),
            "bsm_preferred": (mass, preferred),
            "allowed_lower": (mi, packed["lower"], g_attrs),
            "allowed_upper": (mi, packed["upper"], g_attrs),
            "lower_at_edge": (mi, packed["lower_at_edge"]),
            "upper_at_edge": (mi, packed["upper_at_edge"]),
        },
        coords={mass: m},
        attrs=result_attrs(chi2, cl, dof, level, nuisance, reference)
        | {"coupling_name": coupling, "mass_name": mass, "coupling_scale": scale,
           "coupling_min": float(g.min()), "coupling_max": float(g.max())},
    )


def calibrated_delta_chi2(dchi2: xr.DataArray, level: float,
                          critical: xr.DataArray | None) -> xr.DataArray:
    """Δχ² · level / t_c: crosses ``level`` where Δχ² crosses the critical value t_c (the
    Feldman–Cousins acceptance, docs/feldman-cousins.md), keeping Δχ² ≥ 0 for the log
    interpolation of :func:`allowed_intervals_1d`; NaN t_c keeps Δχ² (Wilks)."""
    if critical is None:
        return dchi2
    factor = (level / critical).fillna(1.0).broadcast_like(dchi2).transpose(*dchi2.dims)
    return (dchi2 * factor).assign_attrs(dchi2.attrs)


def result_attrs(
    chi2: xr.DataArray, cl: float, dof: int, level: float, nuisance: str, reference: str
) -> dict:
    """The attrs every limits result carries: what was combined and how, and the threshold."""
    return {
        "model": chi2.attrs.get("model", ""),
        "data": chi2.attrs.get("data", ""),
        "experiments": list(chi2.attrs.get("experiments", [])),
        "quenching": chi2.attrs.get("quenching", ""),
        "cl": float(cl),
        "dof": int(dof),
        "threshold": level,
        "nuisance": nuisance,
        "reference": reference,
        "chi2_min": float(chi2.min(skipna=True)),
    }


def parameter_intervals(
    ds: xr.Dataset,
    *,
    parameters: Sequence[str] | None = None,
    experiments: Sequence[str] | None = None,
    quenching: Quenching = PROFILE,
    cl: float = 0.9,
    dof: int = 1,
    nuisance: str = PROFILE,
    prior: str | Mapping[str, str] = "flat",
    reference: str = "global",
    sm: xr.Dataset | None = None,
    critical: xr.DataArray | None = None,
) -> xr.Dataset:
    """Allowed intervals of each parameter, the other model axes profiled (or marginalized).
    ``critical``: Feldman–Cousins critical values along a one-axis grid (as
    :func:`coupling_limits`).

    For a one-parameter model (the magnetic moment) this is its allowed interval(s); for NSI
    the interval(s) of each ε with the other ε profiled. Δχ² is taken against the minimum of
    each 1-D profile (which, for ``profile``, is the global minimum), or with
    ``reference="sm"`` against the SM point (every parameter 0; its χ² passed as ``sm``).

    Returns
    -------
    xr.Dataset with dims (``parameter``, ``interval``): ``lower``, ``upper``, ``lower_at_edge``,
    ``upper_at_edge`` (NaN/False padding), and along ``parameter``: ``best_fit``,
    ``n_intervals``, ``complete``. attrs as :func:`coupling_limits`, plus ``sm_delta_chi2``
    (χ²_SM − the global minimum; NaN without ``sm``) and ``bsm_preferred``.
    """
    chi2 = combined_chi2(ds, experiments, quenching)
    axes = model_axes(chi2)
    names = list(parameters) if parameters else axes
    level = threshold(cl, dof)
    _check_reference(reference, sm, allowed=("global", "sm"))
    chi2_sm = float(sm_point_chi2(sm, experiments, quenching)) if sm is not None else np.nan
    sm_delta = chi2_sm - float(chi2.min(skipna=True).compute())
    rows, best = [], []
    for p in names:
        if p not in axes:
            raise ConfigError(f"parameters: '{p}' is not an axis; axes: {', '.join(axes)}")
        profile = reduce_axes(chi2, [a for a in axes if a != p], nuisance, prior=prior).compute()
        dchi2 = profile - chi2_sm if reference == "sm" else delta_chi2(profile)
        dchi2 = calibrated_delta_chi2(dchi2, level, critical)
        x = np.asarray(dchi2[p].values, dtype=float)
        values = np.asarray(dchi2.values, dtype=float)
        rows.append(allowed_intervals_1d(x, values, level, scale=axis_scale(dchi2[p])))
        best.append(float(x[np.nanargmin(values)]) if np.any(np.isfinite(values)) else np.nan)
    packed = pack_intervals(rows)
    pi = ("parameter", "interval")
    return xr.Dataset(
        {
            **{key: (pi, packed[key])
               for key in ("lower", "upper", "lower_at_edge", "upper_at_edge")},
            "best_fit": ("parameter", np.array(best)),
            "n_intervals": ("parameter", packed["count"]),
            "complete": ("parameter", np.array([r is not None for r in rows], dtype=bool)),
        },
        coords={"parameter": names},
        attrs=result_attrs(chi2, cl, dof, level, nuisance, reference)
        | {"sm_delta_chi2": sm_delta, "bsm_preferred": bool(sm_delta > level)},
    )


def _check_reference(reference: str, sm: xr.Dataset | None,
                     allowed: tuple[str, ...] = REFERENCES) -> None:
    if reference not in allowed:
        raise ConfigError(f"reference: '{reference}' not allowed; allowed: {', '.join(allowed)}")
    if reference == "sm" and sm is None:
        raise ConfigError("reference: 'sm' needs the χ² at the SM point (sm=...)")


def sm_point_chi2(
    sm: xr.Dataset,
    experiments: Sequence[str] | None = None,
    quenching: Quenching = PROFILE,
    keep: Sequence[str] = (),
) -> xr.DataArray:
    """Combined χ² at the SM point: the experiments of ``sm`` combined as :func:`combined_chi2`
    does (same quenching treatment), every model axis but ``keep`` (length 1) dropped.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> sm = xr.Dataset({"chi2_a": (("mass_MeV", "coupling"), [[3.0], [4.0]]),
    ...                  "chi2_b": (("mass_MeV", "coupling"), [[1.0], [1.5]])},
    ...                 coords={"mass_MeV": [1.0, 10.0], "coupling": [0.0]})
    >>> sm_point_chi2(sm, keep=["mass_MeV"]).values.tolist()
    [4.0, 5.5]
    """
    chi2 = combined_chi2(sm, experiments, quenching)
    drop = [a for a in model_axes(chi2) if a not in keep]
    return chi2.min(drop, skipna=False).compute() if drop else chi2.compute()


def limit_precision(ds: xr.Dataset, limits: xr.Dataset) -> xr.Dataset:
    """Add to a :func:`coupling_limits` result the computed cell that brackets each limit.

    ``coupling_upper_below``/``coupling_upper_above`` are the nearest couplings at that mass
    whose χ² was computed (``ds["computed"]`` of a refined store,
    :func:`nubound.storage.levels.finest_dataset`; every grid point otherwise) on either side of
    ``coupling_upper``; ``coupling_upper_precision`` is the cell's width, relative
    (above/below − 1) on a log axis, absolute otherwise. NaN where no limit is quoted.
    """
    mass, coupling = limits.attrs["mass_name"], limits.attrs["coupling_name"]
    g = np.asarray(ds[coupling].values, dtype=float)
    if "computed" in ds:
        computed = np.asarray(ds["computed"].transpose(mass, coupling, ...).values)
        while computed.ndim > 2:
            computed = computed.any(axis=-1)
    else:
        computed = np.ones((ds.sizes[mass], g.size), dtype=bool)
    upper = np.asarray(limits.coupling_upper.values, dtype=float)
    below, above = np.full(upper.size, np.nan), np.full(upper.size, np.nan)
    for i, value in enumerate(upper):
        if not np.isfinite(value):
            continue
        known = g[computed[i]]
        lo, hi = known[known <= value], known[known >= value]
        if lo.size and hi.size:
            below[i], above[i] = lo.max(), hi.min()
    log_axis = limits.attrs.get("coupling_scale") == "log"
    with np.errstate(invalid="ignore", divide="ignore"):
        width = above / below - 1.0 if log_axis else above - below
    attrs = dict(limits.coupling_upper.attrs)
    return limits.assign(
        coupling_upper_below=(mass, below, attrs), coupling_upper_above=(mass, above, attrs),
        coupling_upper_precision=(mass, width, {
            "long_name": "width of the computed cell that brackets coupling_upper"
                         + (" (relative)" if log_axis else "")}))
