"""A local, stateful Skills API emulator (both dialects), for the demo, tests and rehearsals.

from syncbot.emulator import EmulatorServer, Faults

with EmulatorServer() as server:
    client = anthropic.Anthropic(api_key="test", base_url=server.base_url)
    server.faults.set(error_rate=0.3, error_statuses=(500, 529), seed=1)
"""

from __future__ import annotations

from syncbot.emulator.bundle import DEFAULT_MAX_UPLOAD_BYTES
from syncbot.emulator.dialects import LEGACY_BETA, Dialect
from syncbot.emulator.errors import EmulatorError
from syncbot.emulator.faults import FaultController, Faults
from syncbot.emulator.records import SkillRecord, VersionRecord
from syncbot.emulator.server import EmulatorServer
from syncbot.emulator.state import EmulatorState
from syncbot.emulator.stats import Stats

__all__ = [
    "DEFAULT_MAX_UPLOAD_BYTES",
    "LEGACY_BETA",
    "Dialect",
    "EmulatorError",
    "EmulatorServer",
    "EmulatorState",
    "FaultController",
    "Faults",
    "SkillRecord",
    "Stats",
    "VersionRecord",
]
