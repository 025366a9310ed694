"""Optional persistence of the state to a JSON file, rewritten atomically after each change."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from syncbot.emulator.state import EmulatorState


class JsonFileStore:
    """Loads the state from `path` on start and rewrites it after every mutation."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    def load_into(self, state: EmulatorState) -> None:
        """Load the file if it exists; ValueError names the file when it is not ours."""
        if not self.path.exists():
            return
        try:
            state.load_dict(json.loads(self.path.read_text(encoding="utf-8")))
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"{self.path}: not an emulator state file ({exc})") from None

    def save(self, state: EmulatorState) -> None:
        # Temp file in the same directory then rename: a killed emulator never leaves half a
        # file. No fsync: surviving power loss is not worth a disk flush per request here.
        text = json.dumps(state.to_dict(), separators=(",", ":"), sort_keys=True)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
