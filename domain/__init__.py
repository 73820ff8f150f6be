"""The domain core: reminder kinds, enums, errors, pure schedule and time maths, the clock.

The bottom layer: it imports nothing else of Steady (import-linter checks it).
"""

#: Steady's version, as /about shows it and the start-up line logs it.
VERSION = "0.1.0"
