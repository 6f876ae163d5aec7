"""COHERENT CsI[Na] (2021 data set): the release (``data``), the detector response
(``response``) and the experiment with its Poisson likelihood (``experiment.CoherentCsI``). Its
profile runs on the shared batched Newton kernel (``nubound.physics.statistics.profile_kernel``).
"""

from nubound.physics.experiments.coherent_csi.experiment import CoherentCsI

__all__ = ["CoherentCsI"]
