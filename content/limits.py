"""Discord's message limits, in one place.

The content schema checks each text against the limit of whatever it becomes in an embed,
and the renderers check the finished embeds against the same
numbers (``services/embeds.py``), so a limit can never drift between the two.
"""

from __future__ import annotations

EMBED_TITLE = 256
EMBED_DESCRIPTION = 4096
EMBED_FIELDS = 25
EMBED_FIELD_NAME = 256
EMBED_FIELD_VALUE = 1024
EMBED_FOOTER = 2048
EMBED_TOTAL = 6000

CHOICE_NAME = 100
CHOICE_VALUE = 100
AUTOCOMPLETE_CHOICES = 25

# Longest option value we try to match; anything longer is a mistake or an attack.
MAX_QUERY = 100
