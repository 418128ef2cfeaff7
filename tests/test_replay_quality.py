"""Alerts on real recorded histories, scored against the labelled change pairs of the test services
(never tuned on): floors that a regression breaks (benchmarks/bench_replay.py prints the figures)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.replay import labelled_pairs, score

SPLITS = json.loads((Path(__file__).resolve().parent.parent / "data" / "splits.json").read_text())["services"]
# Measured on the test services (bench_replay): precision 0.700, recall 0.980, 5 of 103 cosmetic pairs
# alerted, 0 of 89 blinks when this shipped; 0.814 / 0.960 / 1 of 103 / 0 of 89 after labelling round 3
# and the third significance pass (the same after the fourth). Floors a little under; raise them as significance
# improves.
FLOORS = {"precision": 0.79, "recall": 0.93, "cosmetic_alerted": 3}


@pytest.fixture(scope="module")
def test_split(replayed):
    services = {r.service for r in replayed if SPLITS.get(r.service) == "test"}
    assert len(services) >= 10
    return score(replayed, labelled_pairs(), services)


@pytest.mark.timeout(600)
def test_blinks_back_to_an_earlier_text_never_alert(test_split):
    assert test_split.blinks > 0 and test_split.blinks_alerted == 0


@pytest.mark.timeout(600)
def test_topic_precision_and_recall_hold_their_floors_on_the_test_services(test_split):
    assert test_split.pairs >= 100
    assert test_split.precision >= FLOORS["precision"], test_split.misses
    assert test_split.recall >= FLOORS["recall"], test_split.misses


@pytest.mark.timeout(600)
def test_cosmetic_pairs_rarely_alert(test_split):
    assert test_split.cosmetic_alerted <= FLOORS["cosmetic_alerted"], test_split.misses
