"""nubound.physics.models."""
