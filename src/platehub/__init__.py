"""platehub: a self-hosted licence plate recognition server."""

__version__ = "0.1.0"
