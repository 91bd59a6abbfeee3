"""Agency data in: the identifier vocabulary and its canonicalisation, and sources (CSV,
JSON Lines, SQL) that turn an agency's own rows into canonical records.

``connectors`` never imports ``gateway``; it does not import ``crypto`` either (blinding is the
gateway's job, so that the raw value is only ever handled inside the agency's own node).
"""
