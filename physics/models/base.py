"""The model interface: parameters, validation, and the factorized fast evaluation.

Every model's expected signal counts are, for a fixed mediator mass M (or with no mass),
a linear combination of a few binned templates with coefficients that are powers of the
couplings:  counts(p) = Σ_k a_k(p) C_k(M),  C_0 = the SM counts.
The templates C_k(M) = Σ_channels response.T @ ((q² + M²)^(−n) v(T)) (v from the flux moments)
are computed for all masses of a block at once and cached per process; a block of
(masses × couplings) then costs one small matrix product per distinct mass.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from functools import lru_cache

import numpy as np
from numpy.typing import NDArray

from nubound.physics.errors import PhysicsInputError
from nubound.physics.experiments.base import Channel, Experiment
from nubound.physics.rates import sm_rates

KINDS = ("nucleus", "electron")


@dataclass(frozen=True)
class Parameter:
    """One numerical model parameter with its unit and allowed range (inclusive)."""

    name: str
    unit: str
    description: str
    minimum: float = -math.inf
    maximum: float = math.inf

    def check(self, model: str, value: NDArray) -> None:
        """Raise a PhysicsInputError naming the parameter if a value is out of range."""
        if not np.all(np.isfinite(value)):
            raise PhysicsInputError(f"model '{model}': parameter '{self.name}' must be finite")
        if np.any(value < self.minimum) or np.any(value > self.maximum):
            raise PhysicsInputError(
                f"model '{model}': parameter '{self.name}' [{self.unit}] must lie in "
                f"[{self.minimum:g}, {self.maximum:g}]; got values in "
                f"[{np.min(value):g}, {np.max(value):g}]"
            )


@dataclass(frozen=True)
class Option:
    """A named discrete choice of a model (e.g. the interference sign)."""

    name: str
    choices: tuple[str, ...]
    default: str
    description: str


@dataclass(frozen=True)
class MassTerm:
    """One piece of a mass-dependent template: response-fold of (q² + M²)^(−power) · rate(T)."""

    channel: str
    index: int
    power: int
    q2_MeV2: NDArray = field(compare=False)
    rate: NDArray = field(compare=False)  # (nT,): rate density per target per MeV at 'unit' weight


@dataclass(frozen=True)
class StaticTemplates:
    """What a model precomputes per (experiment, quenching, channel kinds)."""

    fixed: NDArray  # (K, n_bins): mass-independent templates (row 0: SM counts)
    mass_terms: tuple[MassTerm, ...] = ()
    meta: tuple = ()  # model-specific data the coefficients need (e.g. NSI charges)


def fold(
    experiment: Experiment, quenching: str, rates: dict[str, NDArray], leading: tuple[int, ...]
) -> NDArray:
    """experiment.expected_counts for flavour-summed rates (…, nT) given on some channels only.

    Channels absent from ``rates`` contribute nothing. With the base class' folding this is
    Σ rate @ response over the given channels; an experiment that overrides
    ``expected_counts`` gets its own method (rates placed in flavour row 0, zeros elsewhere).
    """
    channels = experiment.channels(quenching)
    if type(experiment).expected_counts is Experiment.expected_counts:
        total = np.zeros(leading + (experiment.signal_size,))
        for ch in channels:
            if ch.name in rates:
                total += np.asarray(rates[ch.name]) @ ch.response
        return total
    full = {}
    for ch in channels:
        arr = np.zeros(leading + (len(ch.flavours), ch.recoil_energy_MeV.size))
        if ch.name in rates:
            arr[..., 0, :] = rates[ch.name]
        full[ch.name] = arr
    return experiment.expected_counts(full, quenching)


def sm_counts(experiment: Experiment, quenching: str, kinds: tuple[str, ...]) -> NDArray:
    """SM counts of the channels of the given kinds (all kinds: exactly the SM prediction)."""
    channels = experiment.channels(quenching)
    rates = sm_rates(channels)
    if set(kinds) != set(KINDS):
        rates = {
            ch.name: rates[ch.name] if ch.kind in kinds else np.zeros_like(rates[ch.name])
            for ch in channels
        }
    return experiment.expected_counts(rates, quenching)


@dataclass(frozen=True)
class Model:
    """A BSM model: parameters, options, validation and expected signal counts."""

    name: str
    description: str
    parameters: tuple[Parameter, ...]
    source: str
    options: tuple[Option, ...] = ()
    mass_parameter: str | None = None
    option_values: tuple[tuple[str, str], ...] = ()

    # ---- interface -------------------------------------------------------------------
    @property
    def parameter_names(self) -> tuple[str, ...]:
        """Names of the numerical parameters."""
        return tuple(p.name for p in self.parameters)

    def with_options(self, **options: str) -> Model:
        """The same model with named options set (validated)."""
        merged = dict(self.option_values)
        merged.update(options)
        return replace(self, option_values=tuple(sorted(self._check_options(merged).items())))

    def validate(self, params: dict) -> tuple[dict[str, NDArray], dict[str, str]]:
        """Check names and values; return (numerical arrays, options) — missing → 0 / default.

        String values are accepted only for options. Raises PhysicsInputError naming the
        parameter and the allowed names or range.
        """
        allowed = {p.name: p for p in self.parameters}
        option_names = {o.name for o in self.options}
        values: dict[str, NDArray] = {}
        options = dict(self.option_values)
        for key, val in params.items():
            if key in option_names:
                options[key] = val
                continue
            if key not in allowed:
                raise PhysicsInputError(
                    f"model '{self.name}': unknown parameter '{key}'; allowed: "
                    + ", ".join(list(allowed) + sorted(option_names))
                )
            try:
                arr = np.asarray(val, dtype=float)
            except (TypeError, ValueError):
                raise PhysicsInputError(
                    f"model '{self.name}': parameter '{key}' must be a number or an array of "
                    f"numbers, got {val!r}"
                ) from None
            allowed[key].check(self.name, arr)
            values[key] = arr
        for p in self.parameters:
            values.setdefault(p.name, np.zeros(()))
        try:
            np.broadcast_shapes(*(v.shape for v in values.values()))
        except ValueError:
            shapes = {k: v.shape for k, v in values.items()}
            raise PhysicsInputError(
                f"model '{self.name}': parameter shapes do not broadcast: {shapes}"
            ) from None
        return values, self._check_options(options)

    def signal_counts(
        self,
        experiment: Experiment,
        quenching: str | None,
        params: dict,
        *,
        kinds: tuple[str, ...] = KINDS,
    ) -> NDArray:
        """Expected signal counts (CEvNS + ν–e, SM + BSM) for every point: (..., n_bins).

        ``params`` values broadcast against each other (e.g. mass (m, 1), coupling (1, c)).
        ``kinds`` restricts to nuclear or electron recoil channels.
        """
        quenching = experiment.check_quenching(quenching)
        values, options = self.validate(params)
        shape = np.broadcast_shapes(*(v.shape for v in values.values()))
        static = _static(self._template_key(), experiment, quenching, tuple(kinds))
        coefs = self.coefficients(values, options, static)  # shape + (K,)
        coefs = np.broadcast_to(coefs, shape + coefs.shape[-1:])
        if self.mass_parameter is None or not static.mass_terms:
            return combine(coefs, static.fixed[None], np.zeros(shape, dtype=int))
        mass = values[self.mass_parameter]
        unique, inverse = np.unique(mass, return_inverse=True)
        templates = _mass_templates(
            self._template_key(), experiment, quenching, tuple(kinds), tuple(unique.tolist())
        )
        return combine(coefs, templates, np.broadcast_to(inverse.reshape(mass.shape), shape))

    # ---- what each model provides ----------------------------------------------------
    def build_static(
        self, experiment: Experiment, quenching: str, kinds: tuple[str, ...]
    ) -> StaticTemplates:
        """Mass-independent templates and mass terms (subclasses)."""
        raise NotImplementedError

    def coefficients(
        self, values: dict[str, NDArray], options: dict[str, str], static: StaticTemplates
    ) -> NDArray:
        """Template coefficients a_k(params), shape broadcast(params) + (K,) (subclasses)."""
        raise NotImplementedError

    # ---- helpers ---------------------------------------------------------------------
    def _check_options(self, options: dict) -> dict[str, str]:
        known = {o.name: o for o in self.options}
        out = {o.name: o.default for o in self.options}
        for key, val in options.items():
            if key not in known:
                raise PhysicsInputError(
                    f"model '{self.name}': unknown option '{key}'; allowed: "
                    + (", ".join(known) or "none")
                )
            if val not in known[key].choices:
                raise PhysicsInputError(
                    f"model '{self.name}': option '{key}' must be one of "
                    f"{', '.join(known[key].choices)}; got {val!r}"
                )
            out[key] = val
        return out

    def _template_key(self) -> Model:
        # templates never depend on options (signs enter the coefficients)
        return replace(self, option_values=())


def channels_of(experiment: Experiment, quenching: str, kinds: tuple[str, ...]) -> list[Channel]:
    """The experiment's channels of the given kinds."""
    return [ch for ch in experiment.channels(quenching) if ch.kind in kinds]


@lru_cache(maxsize=64)
def _static(
    model: Model, experiment: Experiment, quenching: str, kinds: tuple[str, ...]
) -> StaticTemplates:
    return model.build_static(experiment, quenching, kinds)


@lru_cache(maxsize=32)
def _mass_templates(
    model: Model,
    experiment: Experiment,
    quenching: str,
    kinds: tuple[str, ...],
    masses_MeV: tuple[float, ...],
) -> NDArray:
    """(n_masses, K, n_bins) templates for a block's distinct masses, all masses at once."""
    static = _static(model, experiment, quenching, kinds)
    m2 = np.asarray(masses_MeV, dtype=float)[:, None] ** 2
    out = np.repeat(static.fixed[None], m2.shape[0], axis=0)
    by_index: dict[int, dict[str, NDArray]] = {}
    for term in static.mass_terms:
        propagator = 1.0 / (term.q2_MeV2[None, :] + m2)
        weighted = propagator if term.power == 1 else propagator**term.power
        weighted = weighted * term.rate[None, :]
        rates = by_index.setdefault(term.index, {})
        rates[term.channel] = rates.get(term.channel, 0.0) + weighted
    for index, rates in by_index.items():
        out[:, index] += fold(experiment, quenching, rates, (m2.shape[0],))
    out.setflags(write=False)
    return out


def combine(coefs: NDArray, templates: NDArray, mass_index: NDArray) -> NDArray:
    """Σ_k coefs[..., k] templates[mass_index[...], k, :] with one matrix product per mass.

    coefs (S + (K,)), templates (n_m, K, n_bins), mass_index (S) → (S + (n_bins,)).
    The products use einsum's own loop, not BLAS: with K ≤ ~10 it is as fast as
    single-threaded BLAS and immune to multi-threaded BLAS slowdowns on busy cores.
    """
    shape = mass_index.shape
    k = coefs.shape[-1]
    n_bins = templates.shape[-1]
    a = np.ascontiguousarray(coefs).reshape(-1, k)
    idx = mass_index.reshape(-1)
    if templates.shape[0] == 1:
        return np.einsum("pk,kb->pb", a, templates[0]).reshape(shape + (n_bins,))
    order = None
    if np.any(idx[1:] < idx[:-1]):
        order = np.argsort(idx, kind="stable")
        idx = idx[order]
        a = a[order]
    bounds = np.concatenate(([0], np.flatnonzero(np.diff(idx)) + 1, [idx.size]))
    out = np.empty((idx.size, n_bins))
    for start, stop in zip(bounds[:-1], bounds[1:], strict=True):
        np.einsum("pk,kb->pb", a[start:stop], templates[idx[start]], out=out[start:stop])
    if order is not None:
        unsorted = np.empty_like(out)
        unsorted[order] = out
        out = unsorted
    return out.reshape(shape + (n_bins,))
