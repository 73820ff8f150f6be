"""Steady's composition root: start-up (``python -m bot``), settings, sharding, health, ops."""

from domain import VERSION as __version__

__all__ = ["__version__"]
