"""syncbot: keeps the live Skills API, PostgreSQL and Redis equal to a configuration repository."""

from __future__ import annotations

__version__ = "0.1.0"
__all__ = ["__version__"]
