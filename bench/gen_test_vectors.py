"""Write docs/rollout-test-vectors.json: golden (salt, unit_id, bucket) triples.

Run from the repository root: `.venv/bin/python bench/gen_test_vectors.py` (add `--check`
to only verify that the committed file is current). The output is deterministic: fixed
salts and ids, plus ids found by a counting search whose buckets sit on the edges that
matter (0, 9999, and both sides of 1%, 5%, 25% and 50%), so an implementation with an
off-by-one or a signedness bug fails a vector.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from syncbot.bucketing import bucket

OUTPUT = Path(__file__).resolve().parent.parent / "docs" / "rollout-test-vectors.json"

SALTS = [
    "contract-analysis-ro",
    "statute-lookup",
    "",
    "analiză-contracte-ș",
    "salt:with:colons",
    "🧂 sare",
    "法律",
]
UNIT_IDS = [
    "user-1",
    "user-42",
    "",
    "Ștefan-Țărână",
    "用户-7",
    "😀",
    "tenant:acme",
    " ",
    "0",
    "x" * 200,
]
EDGE_BUCKETS = [0, 1, 99, 100, 499, 500, 2499, 2500, 4999, 5000, 9998, 9999]
EDGE_SALT = "contract-analysis-ro"


def generate() -> list[dict[str, object]]:
    vectors = [_vector(salt, unit) for salt in SALTS[:2] for unit in UNIT_IDS]
    vectors += [_vector(salt, unit) for salt in SALTS[2:] for unit in UNIT_IDS[:4]]
    vectors += [_vector(EDGE_SALT, _id_with_bucket(EDGE_SALT, b)) for b in EDGE_BUCKETS]
    return vectors


def _vector(salt: str, unit_id: str) -> dict[str, object]:
    return {"salt": salt, "unit_id": unit_id, "bucket": bucket(salt, unit_id)}


def _id_with_bucket(salt: str, wanted: int) -> str:
    """The first `user-<n>` whose bucket is `wanted` (about 10,000 hashes each)."""
    n = 0
    while bucket(salt, f"user-{n}") != wanted:
        n += 1
    return f"user-{n}"


def render(vectors: list[dict[str, object]]) -> str:
    lines = ",\n".join("  " + json.dumps(v, ensure_ascii=False) for v in vectors)
    return f"[\n{lines}\n]\n"


def main(argv: list[str]) -> int:
    text = render(generate())
    if "--check" in argv:
        current = OUTPUT.read_text(encoding="utf-8") if OUTPUT.exists() else ""
        print("up to date" if current == text else f"{OUTPUT} is out of date")
        return 0 if current == text else 1
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    OUTPUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUTPUT}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
