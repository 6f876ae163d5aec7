"""nubound's exceptions: one module, subclasses of the built-in kinds users already catch."""


class NuboundError(Exception):
    """Base class of every nubound error."""


class ConfigError(NuboundError, ValueError):
    """A bad value or key in a scan spec, a profile or a command-line option."""


class DataFileError(NuboundError, RuntimeError):
    """An input data file is missing, corrupted or unreadable."""


class PhysicsInputError(NuboundError, ValueError):
    """A physics function got an argument outside its domain (name, shape or value)."""
