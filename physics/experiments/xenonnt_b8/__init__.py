"""XENONnT solar ⁸B CEvNS: release reading (``data``), efficiency folding (``response``), the
likelihood model (``likelihood``), its exact batched profile (``kernel``) and the experiment
(``experiment.XenonntB8``)."""

from nubound.physics.experiments.xenonnt_b8.experiment import XenonntB8

__all__ = ["XenonntB8"]
