"""`python -m syncbot`: the same as the `syncbot` console script."""

from __future__ import annotations

from syncbot.cli import main

if __name__ == "__main__":
    main()
