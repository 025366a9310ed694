"""Rollout bucketing (docs/algorithms.md): formula, monotonicity, flip share, vectors, Node."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from syncbot.bucketing import bucket, flip_share, in_rollout
from syncbot.desired import Rollout

ROOT = Path(__file__).resolve().parent.parent
VECTORS = ROOT / "docs" / "rollout-test-vectors.json"
DOCS = ROOT / "docs" / "algorithms.md"
NODE = shutil.which("node")


def spec_bucket(salt: str, unit_id: str) -> int:
    """The bucketing formula of the README written out independently of the implementation."""
    digest = hashlib.sha256(f"{salt}:{unit_id}".encode()).hexdigest()
    return int(digest[:16], 16) * 10000 // 2**64


@pytest.mark.parametrize(
    ("salt", "unit_id", "expected"),
    [
        ("contract-analysis-ro", "user-42", 2163),
        ("contract-analysis-ro", "user-1", 864),
        ("contract-analysis-ro", "", 2440),
        ("contract-analysis-ro", "user-243", 0),
        ("contract-analysis-ro", "user-31683", 9999),
    ],
)
def test_known_buckets(salt: str, unit_id: str, expected: int) -> None:
    assert bucket(salt, unit_id) == expected == spec_bucket(salt, unit_id)


@pytest.mark.parametrize(
    ("basis_points", "unit_bucket", "expected"),
    [
        (0, 0, False),  # 0% has nobody, not even bucket 0
        (1, 0, True),
        (500, 499, True),
        (500, 500, False),  # the threshold itself is out
        (2550, 2549, True),
        (10000, 9999, True),  # 100% has everybody
    ],
)
def test_in_rollout(basis_points: int, unit_bucket: int, expected: bool) -> None:
    assert in_rollout(basis_points, unit_bucket) is expected


texts = st.text(max_size=40)
basis = st.integers(0, 10000)


@given(texts, texts)
def test_bucket_is_in_range_and_matches_the_spec(salt: str, unit_id: str) -> None:
    value = bucket(salt, unit_id)
    assert 0 <= value <= 9999
    assert value == spec_bucket(salt, unit_id)


UNITS = [("s", f"user-{n}") for n in range(50)] + [("é✓", "𝔘\u0000x"), ("", ""), ("a:b", "c")]


@pytest.mark.parametrize("hash_seed", ["1", "2"])
def test_bucket_is_the_same_in_another_process(hash_seed: str) -> None:
    """Every service that buckets must agree, so nothing may depend on the process
    (string hash randomisation, interpreter state): a fresh interpreter gives the same values."""
    code = (
        "import json, sys\n"
        "from syncbot.bucketing import bucket\n"
        "print(json.dumps([bucket(s, u) for s, u in json.loads(sys.stdin.read())]))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        input=json.dumps(UNITS),
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONHASHSEED": hash_seed},
    )
    assert json.loads(done.stdout) == [bucket(s, u) for s, u in UNITS]


@given(texts, texts, basis, basis)
def test_monotonic_in_the_percentage(salt: str, unit_id: str, p: int, q: int) -> None:
    low, high = sorted((p, q))
    value = bucket(salt, unit_id)
    if in_rollout(low, value):
        assert in_rollout(high, value)


def test_buckets_are_spread_evenly() -> None:
    counts = [0] * 10
    for n in range(20_000):
        counts[bucket("spread", f"user-{n}") // 1000] += 1
    assert all(1_800 < c < 2_200 for c in counts), counts


# --- flip share ------------------------------------------------------------------------


def rollout(basis_points: int, salt: str = "s") -> Rollout:
    return Rollout("skill", basis_points, salt)


@pytest.mark.parametrize(
    ("before", "after", "expected"),
    [
        (rollout(500), rollout(2500), 0.2),
        (rollout(2500), rollout(500), 0.2),
        (rollout(2500), rollout(2500), 0.0),
        (None, rollout(500), 0.05),
        (rollout(500), None, 0.05),
        (None, None, 0.0),
        (rollout(5000, "a"), rollout(5000, "b"), 0.5),
        (rollout(10000, "a"), rollout(10000, "b"), 0.0),
        (rollout(0, "a"), rollout(2000, "b"), 0.2),
        (rollout(3000, "a"), rollout(6000, "b"), 0.54),
    ],
)
def test_flip_share(before: Rollout | None, after: Rollout | None, expected: float) -> None:
    assert flip_share(before, after) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("before", "after"),
    [(rollout(3000, "a"), rollout(6000, "b")), (rollout(6000, "a"), rollout(500, "a"))],
)
def test_flip_share_matches_what_happens(before: Rollout, after: Rollout) -> None:
    units = [f"user-{n}" for n in range(20_000)]
    flips = sum(
        in_rollout(before.basis_points, bucket(before.salt, u))
        != in_rollout(after.basis_points, bucket(after.salt, u))
        for u in units
    )
    assert flips / len(units) == pytest.approx(flip_share(before, after), abs=0.015)


# --- golden vectors --------------------------------------------------------------------


def load_vectors() -> list[dict[str, Any]]:
    vectors: list[dict[str, Any]] = json.loads(VECTORS.read_text(encoding="utf-8"))
    return vectors


def test_vectors_match_the_implementation() -> None:
    vectors = load_vectors()
    assert len(vectors) >= 40
    for vector in vectors:
        assert set(vector) == {"salt", "unit_id", "bucket"}
        assert bucket(vector["salt"], vector["unit_id"]) == vector["bucket"], vector


def test_vectors_cover_the_edges() -> None:
    vectors = load_vectors()
    ids = {v["unit_id"] for v in vectors}
    salts = {v["salt"] for v in vectors}
    assert "" in ids and "" in salts
    assert any(not s.isascii() for s in salts) and any(not i.isascii() for i in ids)
    assert any(ord(ch) > 0xFFFF for i in ids for ch in i)  # an emoji: UTF-16 pairs in JS
    assert {0, 1, 499, 500, 2499, 2500, 9998, 9999} <= {v["bucket"] for v in vectors}


def test_vectors_file_is_current() -> None:
    spec = importlib.util.spec_from_file_location(
        "gen_test_vectors", ROOT / "bench" / "gen_test_vectors.py"
    )
    assert spec is not None and spec.loader is not None
    generator = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generator)
    assert generator.render(generator.generate()) == VECTORS.read_text(encoding="utf-8")


@pytest.mark.skipif(NODE is None, reason="node is not installed")
def test_documented_node_checker_passes(tmp_path: Path) -> None:
    found = re.search(r"<!-- check-vectors.js -->\n```js\n(.*?)```", DOCS.read_text(), re.DOTALL)
    assert found is not None
    script = tmp_path / "check-vectors.js"
    script.write_text(found.group(1), encoding="utf-8")
    done = subprocess.run(
        [NODE or "node", str(script), str(VECTORS)], capture_output=True, text=True, timeout=60
    )
    count = len(load_vectors())
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"{count}/{count} vectors match"
    assert f"{count}/{count} vectors match" in DOCS.read_text()


@pytest.mark.skipif(NODE is None, reason="node is not installed")
def test_documented_node_checker_catches_a_wrong_vector(tmp_path: Path) -> None:
    found = re.search(r"<!-- check-vectors.js -->\n```js\n(.*?)```", DOCS.read_text(), re.DOTALL)
    assert found is not None
    script = tmp_path / "check-vectors.js"
    script.write_text(found.group(1), encoding="utf-8")
    wrong = tmp_path / "wrong.json"
    wrong.write_text(json.dumps([{"salt": "a", "unit_id": "b", "bucket": bucket("a", "b") + 1}]))
    done = subprocess.run(
        [NODE or "node", str(script), str(wrong)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 1 and "mismatch" in done.stderr
