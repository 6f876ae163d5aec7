"""nubound.physics.statistics."""
