"""Moving a realm's users in and out as JSON Lines (``idp users import`` / ``idp users export``):
``records`` reads and writes one line, ``jsonl`` streams a whole file in batches."""
