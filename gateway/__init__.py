"""The Cordon node: peer and local APIs, matching, federation, audit, storage and the CLI.

``gateway`` composes ``crypto``, ``policies`` and ``connectors``; none of them imports it.
"""
