"""The ``cordon`` command line."""
