"""Steady: a Discord bot for people bothered by muscle twitching."""

__version__ = "0.1.0"
