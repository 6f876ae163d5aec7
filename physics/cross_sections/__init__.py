"""Differential cross sections dσ/dT in cm² per MeV of recoil energy, per target particle."""
