"""End-to-end suite: a small repository of three skills. The shared fixtures (`repo`,
`emulator`, `live_env`, `cli`) are in tests/conftest.py."""

from __future__ import annotations

import textwrap
from collections.abc import Iterator

import pytest
from live_support import SYNCBOT_YAML, skill_files

from syncbot.session import Targets, open_targets
from syncbot.settings import Settings


def base_files() -> dict[str, str]:
    files = {"syncbot.yaml": SYNCBOT_YAML}
    for name in ("contract-review", "nda-drafting", "statute-lookup"):
        files.update(skill_files(name))
    files["registry/routes.yaml"] = textwrap.dedent("""\
        routes:
          - skill: contract-review
            category: legal_analysis
            priority: 1
            min_confidence: 0.5
            patterns: ['contract.*review', 'review.*contract']
            examples:
              match: ["Please review this contract"]
              no_match: ["Draft an NDA"]
          - skill: nda-drafting
            category: drafting
            priority: 2
            min_confidence: 0.5
            patterns: ['draft.*nda', 'nda.*draft']
        """)
    files["rollouts/staging.yaml"] = "contract-review: 100\nnda-drafting: 50\n"
    files["rollouts/production.yaml"] = "contract-review: 5\n"
    return files


@pytest.fixture
def repo_files() -> dict[str, str]:
    return base_files()


@pytest.fixture
def targets(live_env: dict[str, str]) -> Iterator[Targets]:
    with open_targets(Settings.from_env()) as opened:
        yield opened
