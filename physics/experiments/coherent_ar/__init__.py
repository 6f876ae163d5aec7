"""COHERENT CENNS-10 argon (2020): the release (``data``), the detector response (``response``),
the binned Poisson likelihood with its shape systematics (``likelihood``) and the experiment
(``experiment.CoherentAr``). Its profile runs on the shared batched Newton kernel
(``nubound.physics.statistics.profile_kernel``)."""

from nubound.physics.experiments.coherent_ar.experiment import CoherentAr

__all__ = ["CoherentAr"]
