"""The Skills API target: a client speaking both dialects, with retries and no duplicate creates.

- settings.py: what the client is configured with (ApiSettings) and the target's name.
- dialects.py: where the current surface and the legacy beta differ; paths, uploads, pages.
- engine.py: one call, retried behind the circuit breaker and the shared 429 gate; a create
  whose outcome is unknown is looked for before it is sent again.
- stats.py: counters of attempts, retries and uploads.
- client.py: SkillsApiClient, the operations (list, get, download, create, delete).
"""

from syncbot.targets.skills_api.client import SkillsApiClient
from syncbot.targets.skills_api.engine import OutcomeUnknownError
from syncbot.targets.skills_api.settings import ANTHROPIC_VERSION, TARGET, ApiSettings
from syncbot.targets.skills_api.stats import ApiStats

__all__ = [
    "ANTHROPIC_VERSION",
    "TARGET",
    "ApiSettings",
    "ApiStats",
    "OutcomeUnknownError",
    "SkillsApiClient",
]
