"""The services the front-ends call, and the reminder engine (``services.engine``).

Below the front-ends (cogs, dashboard), above storage and content (import-linter checks it).
"""
