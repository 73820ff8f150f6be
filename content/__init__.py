"""Health content as data: YAML files validated at start-up."""

from content.loader import load_content
from content.model import Content

__all__ = ["Content", "load_content"]
