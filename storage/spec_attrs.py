"""The scan spec stored in a store's attributes (``attrs["spec_toml"]``), read without
validating it against the current catalogue, so that a store written with other models or
experiments still reports."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from typing import Any


def stored_spec(attrs: Mapping) -> dict[str, Any]:
    """The stored spec as a TOML dict; ``{}`` if the store has none or it does not parse.

    Examples
    --------
    >>> stored_spec({"spec_toml": 'confidence_level = 0.95\\n[model]\\nname = "nsi"'})
    {'confidence_level': 0.95, 'model': {'name': 'nsi'}}
    >>> stored_spec({})
    {}
    """
    try:
        return tomllib.loads(str(attrs.get("spec_toml", "")))
    except tomllib.TOMLDecodeError:
        return {}
