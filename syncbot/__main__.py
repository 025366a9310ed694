from __future__ import annotations

from syncbot.cli import main

main()
