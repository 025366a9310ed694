"""Per-file content scanners of a skill folder, and the hidden-Unicode scan of the rest.

`scan_skill_file` looks at one file of `skills/<name>/**` and reports symlinks, compiled
artifacts, binary content (`artifacts`), invisible or bidirectional Unicode (`unicode`),
committed secrets (`secrets`) and download-or-decode-then-execute code (`danger`);
`filter_allowed` drops what a skill.yaml `allow` entry waives (`allow`). Each family's
regexes run only on the lines around a hit of its literal keywords (`locate`, found at
memory speed): a repository of ~1,000 skills must validate in well under a second.
"""

from syncbot.files.skill_schemas import ALLOWABLE_RULES
from syncbot.lint.content.allow import filter_allowed
from syncbot.lint.content.scan import RULES, scan_config_files, scan_skill_file

__all__ = ["ALLOWABLE_RULES", "RULES", "filter_allowed", "scan_config_files", "scan_skill_file"]
