"""The experiment interface shared by every experiment (docs/design.md#experiment-contract).

An experiment is a set of *channels*. A channel is one kind of target particle (a nucleus, or
the electrons of an element) seeing one flux component (e.g. the prompt or the delayed SNS
neutrinos, or the reactor ν̄e). For each channel the experiment precomputes, once:

- ``recoil_energy_MeV`` (nT,): the true-recoil quadrature grid;
- ``flux_moments`` (n_flavours, 3, nT): M_k(T) = ∫_{Eν_min(T)} dΦ/dEν · Eν^{-k} dEν, k = 0, 1, 2,
  the fluence over the whole exposure in cm⁻² MeV^{-k} — every cross section of nubound's models
  is a combination of these three moments times functions of T;
- ``response`` (nT, n_bins): number of target particles × quadrature weight [MeV] ×
  probability that a recoil of energy T lands in each analysis bin (quenching, resolution,
  efficiencies, timing). For electron channels it includes Z_eff(T) of the stepping approximation.

Expected counts in the bins are then ``Σ_channels Σ_flavours response.T @ rate`` with the
flux-folded rate density ``rate`` (per target particle, per MeV) that ``physics.rates`` or a
BSM model builds from the moments: for a grid of couplings, a few matrix products.

Signal nodes (optional): an experiment whose nuisances change the detector response itself
(XENONnT's light and charge yields move the signal efficiency) takes the signal at
``signal_nodes`` nuisance settings at once, stacked node-major: its responses and ``chi2``
have ``signal_size = signal_nodes × n_bins`` columns; node 0 is the nominal response. Every
other experiment has one node (default), so signal_size = n_bins. Models and the scanner see
only ``signal_size``: the signal stays linear in the rate, nothing else changes.

Asimov data (docs/statistics.md#asimov): ``experiment.asimov(quenching)`` is the same experiment
with the observed data replaced by the Standard-Model expectation at nominal nuisances,
n_i = μ_i (non-integer). It shares the parent's channels (no response matrix is rebuilt), is
built once per quenching choice and reused, and reports ``data_kind == "asimov"``.
"""

from __future__ import annotations

import copy
from abc import ABC, abstractmethod
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from nubound.physics.errors import PhysicsInputError
from nubound.physics.nuclei import Nucleus
from nubound.physics.statistics.profile import ProfileResult


@dataclass(frozen=True, eq=False)
class Channel:
    """One recoil channel of an experiment (see the module docstring for the arrays)."""

    name: str
    kind: str  # "nucleus" or "electron"
    particle: Nucleus | str  # the Nucleus, or the element name ("Ge", "Cs", …) for electrons
    flavours: tuple[str, ...]
    recoil_energy_MeV: NDArray
    flux_moments: NDArray
    response: NDArray
    meta: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        nt = self.recoil_energy_MeV.shape[0]
        if self.flux_moments.shape != (len(self.flavours), 3, nt):
            raise PhysicsInputError(
                f"channel {self.name}: flux_moments shape {self.flux_moments.shape}, "
                f"expected {(len(self.flavours), 3, nt)}"
            )
        if self.response.shape[0] != nt:
            raise PhysicsInputError(
                f"channel {self.name}: response has {self.response.shape[0]} rows, grid has {nt}"
            )


class Experiment(ABC):
    """Base class: data, binning, quenching choices, channels, and the profiled χ²."""

    name: str
    quenching_choices: tuple[str, ...]
    default_quenching: str
    data_kind: str = "observed"  # "asimov" on the experiments returned by ``asimov``

    @property
    @abstractmethod
    def n_bins(self) -> int:
        """Number of analysis bins (flattened if the analysis is multi-dimensional)."""

    @property
    def signal_nodes(self) -> int:
        """Nuisance settings at which ``chi2`` takes the signal (module docstring; default 1)."""
        return 1

    @property
    def signal_size(self) -> int:
        """Length of the signal vector ``chi2`` takes: ``signal_nodes × n_bins``."""
        return self.signal_nodes * self.n_bins

    @property
    @abstractmethod
    def observed(self) -> NDArray:
        """Observed data in the analysis bins, shape (n_bins,)."""

    @abstractmethod
    def channels(self, quenching: str | None = None) -> tuple[Channel, ...]:
        """The experiment's recoil channels for one quenching choice (cached)."""

    @abstractmethod
    def profile(self, signal: NDArray) -> ProfileResult:
        """Profile the nuisances for signals of shape (..., signal_size): ``chi2`` (...), the
        best-fit nuisances ``theta`` (..., n_par) and ``converged`` (...), False where a fit
        stopped at its iteration cap or damping limit instead of its stopping rule (its χ²
        may then lie above the minimum; docs/statistics.md)."""

    def chi2(self, signal: NDArray) -> NDArray:
        """χ² profiled over the nuisances for signals of shape (..., signal_size) → (...)."""
        return self.profile(signal).chi2

    def check_quenching(self, quenching: str | None) -> str:
        """Return a valid quenching name (the default for None) or raise naming the choices."""
        if quenching is None:
            return self.default_quenching
        if quenching not in self.quenching_choices:
            raise PhysicsInputError(
                f"{self.name}: unknown quenching '{quenching}'; allowed: "
                + ", ".join(self.quenching_choices)
            )
        return quenching

    def check_signal(self, signal: NDArray) -> NDArray:
        """Validate a signal array's last axis against ``signal_size``."""
        signal = np.asarray(signal, dtype=float)
        if signal.ndim == 0 or signal.shape[-1] != self.signal_size:
            raise PhysicsInputError(
                f"{self.name}: signal must have shape (..., {self.signal_size}), got "
                f"{signal.shape}"
            )
        return signal

    def expected_counts(self, rates: dict[str, NDArray], quenching: str | None = None) -> NDArray:
        """Fold rate densities into bins.

        ``rates[channel.name]`` has shape (..., n_flavours, nT) (or (..., nT) for a
        single-flavour channel): per target particle per MeV. Returns (..., signal_size).
        """
        total = None
        for ch in self.channels(quenching):
            r = np.asarray(rates[ch.name], dtype=float)
            if r.shape[-2:] == (len(ch.flavours), ch.recoil_energy_MeV.size):
                r = r.sum(axis=-2)
            part = r @ ch.response
            total = part if total is None else total + part
        assert total is not None
        return total

    # --- Asimov data ----------------------------------------------------------------------
    def asimov(self, quenching: str | None = None) -> Experiment:
        """The same experiment with the observed data replaced by the Standard-Model expectation
        with nominal nuisances (n_i = μ_i, non-integer allowed; docs/statistics.md).

        ``quenching`` selects the quenching choice of the SM signal (None: the default). The
        result shares this experiment's channels (``channels(q)`` of both return the same
        objects), has ``data_kind == "asimov"`` and is built once per quenching choice and
        experiment (also when called on an Asimov experiment: it is then the parent's).
        Subclasses provide the Asimov data through :meth:`_asimov_attributes`; the default
        raises a PhysicsInputError (see :meth:`provides_asimov`).
        """
        q = self.check_quenching(quenching)
        parent = self.__dict__.get("_asimov_parent", self)
        cache = parent.__dict__.setdefault("_asimov_cache", {})
        if q not in cache:
            cache[q] = parent.with_attributes(
                parent._asimov_attributes(q), _asimov_parent=parent, data_kind="asimov",
                asimov_quenching=q)
        return cache[q]

    def with_attributes(self, attributes: dict, **tags: object) -> Experiment:
        """A shallow copy of this experiment with some instance attributes replaced: the one
        mechanism by which an experiment judges other data (Asimov data, toys). The copy shares
        the channel caches (no response matrix is rebuilt)."""
        clone = copy.copy(self)
        clone.__dict__.update(attributes)
        clone.__dict__.update(tags)
        return clone

    # --- pseudo-experiments (toy Monte Carlo; docs/feldman-cousins.md) -------------------------
    def toy_data(self, signal: NDArray, rng: np.random.Generator, n_toys: int) -> NDArray:
        """``n_toys`` pseudo-data sets (n_toys, n_toy_values) drawn from this experiment's
        likelihood with the signal ``signal`` (n_bins,) and the nuisances at their conditional
        best fit to this experiment's data (the profile construction); the values include
        the fluctuated auxiliary measurements behind the pull terms. Subclasses implement it
        with :meth:`_toy_attributes`; see :meth:`provides_toys`."""
        raise PhysicsInputError(f"{self.name}: no toy generator (Experiment.toy_data)")

    def toy(self, values: NDArray) -> Experiment:
        """This experiment judging one pseudo-data set (a row of :meth:`toy_data`): its
        ``chi2`` profiles the same nuisances with the same batched kernel."""
        parent = self.__dict__.get("_toy_parent", self)
        return parent.with_attributes(parent._toy_attributes(np.asarray(values, dtype=float)),
                                      _toy_parent=parent, data_kind="toy")

    def _toy_attributes(self, values: NDArray) -> dict:
        """Instance attributes that make a shallow copy judge the pseudo-data ``values``."""
        raise PhysicsInputError(f"{self.name}: no toy generator (Experiment.toy)")

    @classmethod
    def provides_toys(cls) -> bool:
        """True if the class implements toys (without building the experiment)."""
        return cls._toy_attributes is not Experiment._toy_attributes

    def _asimov_attributes(self, quenching: str) -> dict:
        """Instance attributes that turn a shallow copy of this experiment into its Asimov data
        set for ``quenching`` (a validated choice); called on the experiment with the real data.
        """
        raise PhysicsInputError(
            f"{self.name}: no Asimov data set (Experiment.asimov not implemented); "
            "use data = 'observed'"
        )

    @classmethod
    def provides_asimov(cls) -> bool:
        """True if the class implements :meth:`asimov` (without building the experiment)."""
        return (cls.asimov is not Experiment.asimov
                or cls._asimov_attributes is not Experiment._asimov_attributes)
