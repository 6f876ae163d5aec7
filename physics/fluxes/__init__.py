"""Neutrino fluxes: SNS pion decay at rest and reactor ν̄e, and their moments."""
