"""Dresden-II reactor germanium: the detector response (``response``), the background model and
Gaussian likelihood (``likelihood``), its compiled profile (``kernel``) and the experiment with
the released spectrum (``experiment.DresdenII``)."""

from nubound.physics.experiments.dresden_ii.experiment import DresdenII

__all__ = ["DresdenII"]
