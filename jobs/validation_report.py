"""``make validation``: docs/validation.md and the README's validation table, regenerated.

Every committed ``configs/paper_*.toml`` is scanned in this process (:func:`~nubound.scanner.
serial.run_serial`; an existing store in ``--stores`` is resumed, so a second run only
recomputes the tables) and reduced with the same functions ``nubound limits`` runs. Nothing is
typed in by hand: every number of the generated page comes from the stores, and every mass
column is headed by the grid mass it shows. The README's table between the markers
``<!-- validation-table:begin -->`` and ``<!-- validation-table:end -->`` is rewritten from the
experiments' SM summaries (``nubound predict``) and the same stores. See docs/validation.md.

    python -m nubound.jobs.validation_report [--stores DIR] [--configs DIR]
        [--docs docs/validation.md] [--readme README.md]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import xarray as xr

    from nubound.scanner.spec import ScanSpec

#: the mass columns of the mediator tables: the grid masses nearest to these (MeV)
TARGET_MASSES_MeV = (0.01, 0.1, 1.0, 10.0, 100.0, 1e3, 1e4)
README_BEGIN = "<!-- validation-table:begin -->"
README_END = "<!-- validation-table:end -->"
LABELS = {"dresden_ii": "Dresden-II", "coherent_csi": "COHERENT CsI",
          "coherent_ar": "COHERENT Ar"}
QUENCHING_LABELS = {"fef": "Fef", "ybe": "YBe", "lindhard": "Lindhard"}


@dataclass(frozen=True)
class PaperScan:
    """One committed paper config, its store and how long making it took (s, this machine)."""

    name: str
    spec: ScanSpec
    ds: xr.Dataset
    seconds: float


@dataclass(frozen=True)
class DataSet:
    """A row of a table: which experiments are combined, with which quenching treatment."""

    label: str
    experiments: tuple[str, ...]
    quenching: str | dict[str, str]


def run_paper_scans(configs: Path, stores: Path) -> list[PaperScan]:
    """Scan (or resume) every ``paper_*.toml`` of ``configs`` into ``stores/<name>.zarr``, each
    refined as its ``[refine]`` says, on one local Dask cluster (as ``nubound scan`` runs)."""
    from distributed import Client

    from nubound.jobs.clusters import local_cluster
    from nubound.jobs.limits_cmd import open_store
    from nubound.scanner.run import run_scan
    from nubound.scanner.spec import load_spec

    stores.mkdir(parents=True, exist_ok=True)
    out = []
    with local_cluster() as cluster, Client(cluster) as client:
        for path in sorted(configs.glob("paper_*.toml")):
            spec = load_spec(path)
            url = str(stores / f"{path.stem}.zarr")
            t0 = time.perf_counter()
            run_scan(spec, client, url=url, progress=None)
            out.append(PaperScan(path.stem, spec, open_store(url), time.perf_counter() - t0))
            print(f"{path.stem}: {out[-1].seconds:.0f} s", flush=True)  # progress of a long run
    return out


def data_sets(ds: xr.Dataset) -> list[DataSet]:
    """Each experiment alone (each quenching choice fixed, then profiled), CsI + Ar, and all
    experiments together (each choice of the experiment with choices fixed, then profiled)."""
    from nubound.storage import limits as lim

    names = lim.available_experiments(ds)
    choices = {n: [q for d in lim.quenching_dims(ds[f"chi2_{n}"])
                   for q in lim.quenching_labels(ds[f"chi2_{n}"], d)] for n in names}
    rows = []
    for n in names:
        for q in choices[n]:
            rows.append(DataSet(f"{LABELS.get(n, n)} ({QUENCHING_LABELS.get(q, q)})", (n,), q))
        suffix = " (quenching profiled)" if len(choices[n]) > 1 else ""
        rows.append(DataSet(f"{LABELS.get(n, n)}{suffix}", (n,), "profile"))
    coherent = tuple(n for n in ("coherent_csi", "coherent_ar") if n in names)
    if len(coherent) == 2:
        rows.append(DataSet("COHERENT CsI + Ar", coherent, "profile"))
    if len(names) > 1 and set(names) != set(coherent):
        with_choices = [n for n in names if len(choices[n]) > 1]
        for n in with_choices:
            for q in choices[n]:
                rows.append(DataSet(f"all ({QUENCHING_LABELS.get(q, q)})", tuple(names), {n: q}))
        rows.append(DataSet("all" + (" (quenching profiled)" if with_choices else ""),
                            tuple(names), "profile"))
    return rows


def mass_columns(masses: Sequence[float]) -> list[int]:
    """Indices of the grid masses nearest (in ln M) to :data:`TARGET_MASSES_MeV` within the
    grid, without repeats."""
    m = np.asarray(masses, dtype=float)
    picks = []
    for target in TARGET_MASSES_MeV:
        if m.min() / 1.5 <= target <= m.max() * 1.5:
            i = int(np.argmin(np.abs(np.log(m / target))))
            if i not in picks:
                picks.append(i)
    return picks


def fmt(value: float) -> str:
    """Three significant digits, like the tables always had (``1.58e-06``)."""
    return f"{value:.3g}"


def mass_header(mass_MeV: float) -> str:
    """The exact grid mass of a column, three significant digits.

    Examples
    --------
    >>> mass_header(0.11220184543019636), mass_header(1e4)
    ('0.112 MeV', '10000 MeV')
    """
    return f"{float(f'{mass_MeV:.3g}'):g} MeV"


def mediator_cell(result: xr.Dataset, i: int) -> str:
    """One cell of a mediator table: the limit, its allowed band, or why there is none."""
    status = str(result.status.values[i])
    flag = " *" if bool(result.bsm_preferred.values[i]) else ""
    if status != "ok":
        return f"— ({status}){flag}"
    up = float(result.coupling_upper.values[i])
    first = float(result.coupling_first_crossing.values[i])
    lower = float(result.allowed_lower.values[i, 0])
    text = fmt(up)
    if int(result.n_allowed_intervals.values[i]) > 1 and np.isfinite(first):
        text += f" (band; first {fmt(first)})"
    elif not bool(result.lower_at_edge.values[i, 0]):
        text += f" (allowed from {fmt(lower)})"
    return text + flag


def mediator_table(ds: xr.Dataset, reference: str, sm: xr.Dataset | None) -> str:
    """Markdown table: one row per data set, one column per picked grid mass."""
    from nubound.storage import limits as lim

    mass = lim.find_axis(list(ds.sizes), "mass")
    cols = mass_columns(ds[mass].values)
    head = "| data | " + " | ".join(mass_header(float(ds[mass].values[i])) for i in cols) + " |"
    lines = [head, "|---" * (len(cols) + 1) + "|"]
    for row in data_sets(ds):
        res = lim.coupling_limits(ds, experiments=list(row.experiments), quenching=row.quenching,
                                  cl=lim.confidence_level(ds.attrs), reference=reference, sm=sm)
        lines.append(f"| {row.label} | " + " | ".join(mediator_cell(res, i) for i in cols)
                     + " |")
    return "\n".join(lines)


def intervals_text(lower: np.ndarray, upper: np.ndarray, lo_edge: np.ndarray,
                   hi_edge: np.ndarray, unit: float = 1.0) -> str:
    """``[a, b] ∪ [c, d]`` with ``<`` at an end on the grid's edge; "none" when empty."""
    parts = []
    for lo, hi, le, he in zip(lower, upper, lo_edge, hi_edge, strict=True):
        if np.isnan(lo):
            continue
        parts.append(f"[{'<' if le else ''}{fmt(lo / unit)}, {fmt(hi / unit)}{'<' if he else ''}]")
    return " ∪ ".join(parts) or "none"


def interval_table(ds: xr.Dataset, unit: float = 1.0) -> str:
    """One-parameter (or several, each with the others profiled) allowed intervals."""
    from nubound.storage import limits as lim

    axes = lim.model_axes(lim.experiment_chi2(ds, lim.available_experiments(ds)[0]))
    lines = ["| data | " + " | ".join(f"{a}: allowed (best fit)" for a in axes) + " |",
             "|---" * (len(axes) + 1) + "|"]
    for row in data_sets(ds):
        res = lim.parameter_intervals(ds, experiments=list(row.experiments),
                                      quenching=row.quenching, cl=lim.confidence_level(ds.attrs))
        cells = []
        for k in range(res.sizes["parameter"]):
            text = intervals_text(res.lower.values[k], res.upper.values[k],
                                  res.lower_at_edge.values[k], res.upper_at_edge.values[k], unit)
            cells.append(f"{text} ({fmt(float(res.best_fit.values[k]) / unit)})")
        lines.append(f"| {row.label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def slice_table(ds: xr.Dataset) -> str:
    """Two-parameter grids: each parameter with the other at 0, and the diagonal x = y (both
    axes the same grid), Δχ² against the minimum on that line."""
    from nubound.storage import limits as lim
    from nubound.storage.contours import allowed_intervals_1d, axis_scale

    x, y = lim.model_axes(lim.experiment_chi2(ds, lim.available_experiments(ds)[0]))
    lines = [f"| data | {x} ({y} = 0) | {y} ({x} = 0) | diagonal {x} = {y} |", "|---|---|---|---|"]
    same = np.array_equal(ds[x].values, ds[y].values)
    for row in data_sets(ds):
        chi2 = lim.combined_chi2(ds, list(row.experiments), row.quenching).compute()
        level = lim.threshold(lim.confidence_level(ds.attrs), 1)
        lines_1d = [(ds[x].values, chi2.sel({y: 0.0}, method="nearest").transpose(x).values),
                    (ds[y].values, chi2.sel({x: 0.0}, method="nearest").transpose(y).values)]
        if same:
            lines_1d.append((ds[x].values, np.diagonal(chi2.transpose(x, y).values)))
        cells = []
        for grid, values in lines_1d:
            ivs = allowed_intervals_1d(grid, values - np.nanmin(values), level,
                                       scale=axis_scale(ds[x])) or []
            cells.append(intervals_text(np.array([i.lower for i in ivs]),
                                        np.array([i.upper for i in ivs]),
                                        np.array([i.lower_at_edge for i in ivs]),
                                        np.array([i.upper_at_edge for i in ivs])))
        if not same:
            cells.append("(axes differ)")
        lines.append(f"| {row.label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def grid_text(spec: ScanSpec) -> str:
    """``mass_MeV: 41 (log 0.01 … 1e+04) × coupling: 160 (…)``, and the refinement.

    >>> from nubound.scanner.spec import AxisSpec
    >>> from types import SimpleNamespace
    >>> axis = AxisSpec("coupling", "1", "log", (1e-6, 1e-5, 1e-4, 1e-3, 1e-2))
    >>> grid_text(SimpleNamespace(axes=(axis,), refine=None))
    'coupling: 5 (log 1e-06 … 0.01)'
    >>> refine = SimpleNamespace(axes=("coupling",), levels=7)
    >>> grid_text(SimpleNamespace(axes=(axis,), refine=refine))
    'coupling: 5 (log 1e-06 … 0.01), coupling refined 7 levels (to 513 points)'
    """
    text = " × ".join(f"{a.name}: {a.size} ({a.scale} {a.values[0]:g} … {a.values[-1]:g})"
                      for a in spec.axes)
    if spec.refine is None:
        return text
    from nubound.storage.levels import level_size

    fine = [level_size(a.size, spec.refine.levels) for a in spec.axes
            if a.name in spec.refine.axes]
    return (f"{text}, {' and '.join(spec.refine.axes)} refined {spec.refine.levels} levels "
            f"(to {' × '.join(map(str, fine))} points)")


def scan_section(scan: PaperScan) -> str:
    """The tables of one paper config."""
    from nubound.jobs.limits_cmd import sm_dataset
    from nubound.storage import limits as lim

    ds = scan.ds
    axes = lim.model_axes(lim.experiment_chi2(ds, lim.available_experiments(ds)[0]))
    cl = lim.confidence_level(ds.attrs)
    title = f"### `{scan.name}.toml`: {scan.spec.description or scan.spec.model.name}"
    parts = [title, "", f"Model `{scan.spec.model.name}` {dict(scan.spec.model.fixed) or ''}; "
             f"grid {grid_text(scan.spec)}; {cl:.0%} CL, Δχ² = "
             f"{lim.threshold(cl, 1):.3f} (1 dof)."]
    if any(a.startswith("mass") for a in axes):
        sm = sm_dataset(ds)
        for reference, what in (
            ("per_mass", "Δχ² against the minimum at each mass (raster scan)"),
            ("sm", "Δχ² against the SM point (coupling 0) at each mass"),
            ("global", "Δχ² against the minimum of the whole plane"),
        ):
            parts += ["", f"Upper limits on `coupling`, {what} (`--reference {reference}`):",
                      "", mediator_table(ds, reference, sm)]
        parts += ["", "`*`: the data prefer a BSM signal over the SM by more than the threshold "
                  "there (χ²_SM − the reference minimum > Δχ²); `bsm_preferred`: no coupling is "
                  "allowed and the SM itself is excluded; `above_grid`: the limit lies above "
                  "the coupling axis; `band; first x`: an allowed band (destructive "
                  "interference) lies above the first exclusion x; `allowed from x`: "
                  "couplings below x are excluded too."]
    elif len(axes) == 2 and "mu_e" not in axes:
        parts += ["", "Allowed intervals, one parameter at a time (Δχ² against the minimum on "
                  "that line; `<` marks an end on the grid's edge):", "", slice_table(ds),
                  "", "Each parameter with the other profiled:", "", interval_table(ds)]
    else:
        unit = 1e-10 if any(a.startswith("mu_") for a in axes) else 1.0
        unit_text = " (units of 10⁻¹⁰ μ_B)" if unit != 1.0 else ""
        parts += ["", f"Allowed intervals{unit_text}, other axes profiled; best fit in "
                  "brackets (`<` marks an end on the grid's edge):", "",
                  interval_table(ds, unit)]
    return "\n".join(parts)


def run_time_table(scans: Sequence[PaperScan]) -> str:
    """How long each config took here, and the points it computed (a refined store: the
    points of all its levels, against the uniform grid of the same precision)."""
    lines = ["| config | grid | points computed | uniform grid of the same precision | "
             "time (s) |", "|---|---|---|---|---|"]
    for s in scans:
        computed = int(s.ds["computed"].sum()) if "computed" in s.ds else int(np.prod(s.spec.shape))
        dense = int(np.prod([v.size for v in (s.ds[a.name] for a in s.spec.axes)]))
        lines.append(f"| `{s.name}.toml` | {grid_text(s.spec)} | {computed} | {dense} "
                     f"| {s.seconds:.0f} |")
    return "\n".join(lines)


def render_page(scans: Sequence[PaperScan], intro: str, outro: str) -> str:
    """The whole docs/validation.md."""
    body = [intro.rstrip(), "", "## Results", ""]
    body += [scan_section(s) + "\n" for s in scans]
    body += ["## Run times", "", "Scans on one local Dask cluster (a worker process per "
             "core) of the 2-core development machine, shared with other jobs (times vary by "
             "±50 %), compiled kernels cached, each config refined as its `[refine]` says "
             "(docs/refinement.md); a store that already existed is only checked.", "",
             run_time_table(scans), "", outro.strip(), ""]
    return "\n".join(body)


#: README rows: (label, experiment, quenching, summary key, format, published value)
README_SM_ROWS = (
    ("COHERENT CsI SM CEvNS events (PE < 60, t < 6 µs)", "coherent_csi", None, "cevns_events",
     "{:.0f}", "341 ± 11 ± 42 (arXiv:2110.07730)"),
    ("COHERENT CsI fitted CEvNS events", "coherent_csi", None, "cevns_events_best_fit",
     "{:.0f}", "306 ± 20"),
    ("COHERENT CsI CEvNS significance (σ)", "coherent_csi", None, "cevns_significance_sigma",
     "{:.1f}", "11.6"),
    ("COHERENT CsI flux-averaged σ per nucleus (cm²)", "coherent_csi", None,
     "flux_averaged_cross_section_cm2", "{:.3g}", "SM 1.89 ± 0.06 × 10⁻³⁸ (quoted, unconfirmed)"),
    ("COHERENT Ar SM CEvNS events", "coherent_ar", None, "cevns_events", "{:.1f}",
     "128 ± 17 (release)"),
    ("COHERENT Ar fitted CEvNS events", "coherent_ar", None, "cevns_events_best_fit", "{:.0f}",
     "159 ± 43 (arXiv:2003.10630)"),
    ("COHERENT Ar CEvNS significance (σ)", "coherent_ar", None, "cevns_significance_sigma",
     "{:.1f}", "3.5"),
    ("COHERENT Ar flux-averaged σ (cm²)", "coherent_ar", None,
     "flux_averaged_cross_section_cm2", "{:.3g}", "measured (2.2 ± 0.7) × 10⁻³⁹"),
    ("Dresden-II SM CEvNS per day, Fef", "dresden_ii", "fef", "cevns_events_per_day", "{:.1f}",
     "reference code: 113.0 (3 kg, bin centres 3 eV higher)"),
    ("Dresden-II SM CEvNS per day, YBe", "dresden_ii", "ybe", "cevns_events_per_day", "{:.1f}",
     "reference code: 60.1"),
    ("Dresden-II SM CEvNS per day, Lindhard", "dresden_ii", "lindhard", "cevns_events_per_day",
     "{:.1f}", "—"),
)


def readme_table(scans: Sequence[PaperScan]) -> str:
    """The README's validation table: SM summaries of the experiments, Dresden-II's
    background-only Δχ², and one headline limit per paper config (all experiments combined,
    quenching profiled, per-mass reference at the grid mass nearest 1 MeV)."""
    from nubound.physics.experiments import get_experiment
    from nubound.storage import limits as lim

    lines = ["| quantity | nubound | published |", "|---|---|---|"]
    for label, exp, q, key, form, published in README_SM_ROWS:
        value = get_experiment(exp).summary(get_experiment(exp).check_quenching(q))[key]
        lines.append(f"| {label} | {form.format(value)} | {published} |")
    dii = get_experiment("dresden_ii")
    deltas = []
    for q in ("fef", "ybe", "lindhard"):
        s = dii.summary(q)
        deltas.append(f"{s['chi2_background_only'] - s['chi2_sm']:.1f}")
    lines.append("| Dresden-II Δχ² background-only − SM (Fef / YBe / Lindhard) | "
                 f"{' / '.join(deltas)} | collaboration: CEvNS preferred, p < 1.2 × 10⁻³ |")
    for scan in scans:
        ds = scan.ds
        axes = lim.model_axes(lim.experiment_chi2(ds, lim.available_experiments(ds)[0]))
        cl = lim.confidence_level(ds.attrs)
        if any(a.startswith("mass") for a in axes):
            mass = lim.find_axis(axes, "mass")
            i = int(np.argmin(np.abs(np.log(ds[mass].values / 1.0))))
            res = lim.coupling_limits(ds, cl=cl, reference="per_mass")
            value = (fmt(float(res.coupling_upper.values[i]))
                     if str(res.status.values[i]) == "ok" else f"— ({res.status.values[i]})")
            what = (f"upper limit on the coupling at M = {mass_header(float(ds[mass].values[i]))}"
                    " (per-mass reference)")
        else:
            res = lim.parameter_intervals(ds, cl=cl)
            what = f"{res.parameter.values[0]} allowed"
            value = intervals_text(res.lower.values[0], res.upper.values[0],
                                   res.lower_at_edge.values[0], res.upper_at_edge.values[0])
        lines.append(f"| `{scan.name}`: {what}, {cl:.0%} CL, all data | {value} | not retrieved |")
    return "\n".join(lines)


def replace_between(text: str, begin: str, end: str, new: str) -> str:
    """``text`` with what lies between the markers replaced by ``new`` (markers kept).

    Examples
    --------
    >>> replace_between("a <!--b--> old <!--e--> z", "<!--b-->", "<!--e-->", "new")
    'a <!--b-->\\nnew\\n<!--e--> z'
    """
    head, sep, rest = text.partition(begin)
    _, sep2, tail = rest.partition(end)
    if not sep or not sep2:
        raise ValueError(f"markers {begin!r} … {end!r} not found")
    return f"{head}{begin}\n{new}\n{end}{tail}"


PAGE_INTRO = """# Validation

!!! note "Generated"
    This page is written by `make validation` (`nubound.jobs.validation_report`) from the
    committed `configs/paper_*.toml`; do not edit the tables by hand. Each mass column is
    headed by the grid mass it shows.

nubound's limits for every model of the reference analysis (P. Coloma, I. Esteban,
M. C. Gonzalez-Garcia, L. Larizgoitia, F. Monrabal, S. Palomares-Ruiz, JHEP 05 (2022) 037,
arXiv:2202.10829), computed from the committed scan specs. Their statistics are those of
[statistics](statistics.md): nuisances profiled, quenching choices fixed (one row each) or
profiled, Δχ² thresholds `scipy.stats.chi2.ppf(cl, 1)`. The published limits of the paper could
not be retrieved (see [Published values](#published-values)), so no deviation is quoted.
The limits that the tests pin to 0.5 % are in `tests/test_golden_limits.py`. Feldman–Cousins
critical values and limits next to Wilks' are in [statistics-fc](statistics-fc.md); the
XENONnT ⁸B checks against its publication in [xenonnt_b8](experiments/xenonnt_b8.md).

## How the numbers are made

```sh
make validation      # scans every configs/paper_*.toml into out/validation/ (resumed), then
                     # rewrites this page and the README's validation table
nubound limits out/validation/paper_vector_universal.zarr --reference per_mass   # one table row
```

The three references of the mediator tables differ where the data prefer a non-zero coupling:
`per_mass` (raster scan) is what a typical exclusion figure shows; `sm` takes Δχ² against the
SM point (the convention of many phenomenology papers); `global` against the best fit of the
whole plane (nubound's default). Dresden-II with YBe or Lindhard quenching prefers a light
vector mediator coupled to electrons (a lower χ² than the SM at the lowest masses); with the
global reference the SM itself is then excluded at other masses (`bsm_preferred`).
"""

PAGE_OUTRO = """## Published values

Searched (stored pages, docs, code, issues): the paper itself, papers citing it, COHERENT-only
BSM analyses (Miranda et al. 2020, arXiv:2003.12050; Cadeddu et al., arXiv:2008.05022;
Atzori Corona et al., arXiv:2202.11002; Denton & Gehrlein, arXiv:2008.06062; Khan &
Rodejohann, arXiv:1907.12444), Dresden-II re-analyses (Liao, Liu, Marfatia, arXiv:2202.10622;
Khan, arXiv:2203.08892; Li, Herrera, Huber, arXiv:2502.12308) and digitised limit files. Only
the beginnings of these pages (title, authors, abstract) were reachable: no table, figure or
quoted limit. The abstracts' qualitative statements, and how nubound's tables bear them out:

- *Electron scattering gives stronger constraints than CEvNS in parts of the parameter space*
  (arXiv:2202.10829): at the lowest masses the leptonic vector (electron recoils only) limits
  with Dresden-II are as strong as the universal and B − L ones, so the ν–e channel sets the
  limit there; by ≈ 1 MeV the leptonic limit is several times weaker and CEvNS has taken over.
  For the scalar the CEvNS part wins everywhere.
- *The Dresden-II limits depend strongly on the quenching factor at low recoil energy*
  (arXiv:2202.10622, arXiv:2502.12308, the latter up to a factor 10 for μ_ν over a wider
  family of quenching models): the Fef, YBe and Lindhard rows differ by factors 2–3.
- *Contact limit*: a universal vector at M ≫ q equals NSI with ε^u = ε^d = g²/(√2 G_F M²)
  ([physics](physics.md#contact-limit)); its heaviest-mass limit and the NSI diagonal's first
  interval agree to the NSI grid step.
- *Cancellation bands only with destructive interference*: bands (`band; first …`) appear for
  the universal vector from ≈ 10 MeV up and never for B − L with a fixed quenching choice.

## Known limitations of these scans

1. Coupling axes end at 10⁻²: at M ≳ 3 GeV some limits and the universal model's cancellation
   band lie above the grid (`above_grid`).
2. Thin allowed bands are narrower than the mass grid step; the plots draw them as chains of
   islands. Refine the grid locally to draw them as bands.
3. With the Dresden-II quenching profiled, B − L can show a second allowed interval at a few
   masses: the minimum over quenching choices switches choice along the coupling axis.

## History

Earlier runs of the same configs (November 2026) with the numpy profiles, then the compiled
kernels, then the faster COHERENT starts gave the same limits to the digits shown (within
Δχ² < 50 of each minimum the χ² agreed to ≤ 10⁻⁵), except four cells of the universal vector
at 0.01 MeV that moved by ≤ 2 % when the Dresden-II fit stopped stalling in one valley (checked
against Migrad; regression test in `tests/physics/test_dresden_ii_background.py`).

## Missing

The published numbers: the text of arXiv:2202.10829 (its figures of NSI regions, μ_ν limits and
mediator exclusion curves) and of the COHERENT-only analyses. With them, add a "published"
column at the same grid masses and quote the deviation; check first the paper's Δχ²
reference, its treatment of the Dresden-II quenching, its COHERENT likelihoods and the
electron-recoil treatment (stepping Z_eff, CsI acceptance).
"""


def main(argv: list[str] | None = None) -> int:
    """Scan the paper configs and rewrite docs/validation.md and the README's table."""
    parser = argparse.ArgumentParser(prog="python -m nubound.jobs.validation_report",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--configs", type=Path, default=Path("configs"))
    parser.add_argument("--stores", type=Path, default=Path("out/validation"))
    parser.add_argument("--docs", type=Path, default=Path("docs/validation.md"))
    parser.add_argument("--readme", type=Path, default=Path("README.md"))
    args = parser.parse_args(argv)
    scans = run_paper_scans(args.configs, args.stores)
    args.docs.write_text(render_page(scans, PAGE_INTRO, PAGE_OUTRO), encoding="utf-8")
    readme = args.readme.read_text(encoding="utf-8")
    args.readme.write_text(replace_between(readme, README_BEGIN, README_END,
                                           readme_table(scans)), encoding="utf-8")
    print(f"wrote {args.docs} and the validation table of {args.readme} from "
          f"{len(scans)} paper configs")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
