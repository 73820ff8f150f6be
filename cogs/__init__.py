"""Thin Discord handlers, one extension per feature."""
