"""The trained topic model: real labelled data behind it, a reproducible build, floors on policies never
used for tuning, and a language without a model reported unrated rather than mis-rated."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from monitor.meaning.model import available_languages, features, load_model
from monitor.meaning.topics import classify, knows_language
from training import evaluate

ROOT = Path(__file__).resolve().parent.parent
LABELS = ROOT / "data" / "labels"
SPLITS = json.loads((ROOT / "data" / "splits.json").read_text())["services"]
MODEL = ROOT / "monitor" / "meaning" / "models" / "en.json"

# F1 and precision of the shipped combination on the test policies when it shipped (benchmarks/bench_topics.py),
# less 0.02 for a rebuild on another machine. Raised when the model gets better; set again only when the
# model is retrained on more labelled data, from that model's figures, and said so in the changelog (round 3
# of labelling: sharing F1 and precision, retention precision and ads_ai rose; minors 0.950 → 0.930).
# Round 4 (9,837 segments, 2026-12-04; "either" no longer ships): sharing 0.796 → 0.793, retention 0.832 →
# 0.841, minors 0.930, ads_ai 0.768 → 0.757; floors set again from this model's figures less 0.02.
TEST_FLOORS = {"sharing": 0.77, "retention": 0.82, "minors": 0.91, "ads_ai": 0.73}
PRECISION_FLOORS = {"sharing": 0.86, "retention": 0.90, "minors": 0.85, "ads_ai": 0.84}


def _rows(name: str) -> list[dict]:
    return [json.loads(line) for line in (LABELS / name).read_text(encoding="utf-8").splitlines()]


def test_the_labelled_segments_are_real_double_labelled_and_settled():
    rows = _rows("segments.jsonl")
    assert len(rows) >= 5000 and len({r["service"] for r in rows}) >= 150
    for r in rows:
        assert r["labeller_a"] != r["labeller_b"]
        assert r["label"] is not None and r["resolution"] in ("agreed", "settled", "majority of three")
        if r["resolution"] == "majority of three":  # each topic of the label has two votes of three
            votes = (r["labels_a"], r["labels_b"], r["labels_c"])
            assert r["label"] == sorted(t for t in evaluate.TOPICS if sum(t in v for v in votes) >= 2)
            assert r["labeller_c"] not in (r["labeller_a"], r["labeller_b"])
        assert set(r["label"]) <= set(evaluate.TOPICS)
        assert SPLITS[r["service"]] == r["split"]
    assert Counter(r["resolution"] for r in rows)["settled"] > 0


def test_a_labeller_who_lost_step_between_ids_and_answers_is_caught():
    from training.labels import misaligned_stretches

    answers = [["sharing"], [], ["retention"], [], ["minors"], [], [], ["sharing", "ads_ai"]] * 10
    first = [{"id": str(i), "labels": a} for i, a in enumerate(answers)]
    assert misaligned_stretches(first, first) == []
    honest = [dict(r, labels=["sharing"]) if i in (3, 50) else r for i, r in enumerate(first)]
    assert misaligned_stretches(first, honest) == []  # a few real disagreements are not a lost step
    shifted = first[:40] + [dict(r, labels=answers[i + 1 - 40]) for i, r in enumerate(first[40:], start=40)]
    assert misaligned_stretches(first, shifted) == [(41, 80)]


def test_the_labelled_pairs_cover_enough_services():
    rows = _rows("pairs.jsonl")
    assert len(rows) >= 400 and len({r["service"] for r in rows}) >= 30
    assert {r["split"] for r in rows} >= {"dev", "test"}
    for r in rows:
        assert r["labeller_a"] != r["labeller_b"] and r["label"] is not None
        assert SPLITS[r["service"]] == r["split"]
        if r["resolution"] == "majority of three":  # material and each topic have two votes of three
            votes = (r["labels_a"], r["labels_b"], r["labels_c"])
            assert r["label"]["material"] == (sum(v["material"] for v in votes) >= 2)
            topics = sorted(t for t in evaluate.TOPICS if sum(t in v["topics"] for v in votes) >= 2)
            assert r["label"]["topics"] == (topics if r["label"]["material"] else [])
            assert r["labeller_c"] not in (r["labeller_a"], r["labeller_b"])


def test_no_test_policy_text_is_in_any_training_data():
    rows = _rows("segments.jsonl")
    test_texts = {" ".join(r["text"].lower().split()) for r in rows if r["split"] == "test"}
    trained = [r for r in rows if r["split"] != "test"]
    assert not [r["id"] for r in trained if " ".join(r["text"].lower().split()) in test_texts]
    assert json.loads(MODEL.read_text())["trained_on"]["splits"] == ["dev", "train"]
    # services that share their policy text are one group in one split
    for group in json.loads((ROOT / "data" / "splits.json").read_text())["groups"]:
        assert len({SPLITS[s] for s in group}) == 1, group


@pytest.mark.timeout(300)
def test_make_model_rebuilds_the_shipped_file_byte_for_byte(tmp_path):
    shipped = hashlib.sha256(MODEL.read_bytes()).hexdigest()
    out = tmp_path / "en.json"
    subprocess.run([sys.executable, "-c",
                    "import sys, training.train_model as t; t.OUT = __import__('pathlib').Path(sys.argv[1]); t.main()",
                    str(out)], check=True, cwd=ROOT, capture_output=True)
    assert hashlib.sha256(out.read_bytes()).hexdigest() == shipped


def test_the_model_is_package_data_in_json_and_small():
    assert available_languages() == ("en",)
    assert MODEL.stat().st_size < 5_000_000
    model = load_model("en")
    assert set(model.topics) == {"sharing", "retention", "minors", "ads_ai"}
    assert all(len(model.weights[t]) == len(model.vocabulary) for t in model.topics)


def test_the_model_files_float_arrays_are_packed_doubles_that_read_back_as_the_same_floats():
    from monitor.meaning.model import packed_floats, unpacked_floats

    values = [0.0, -0.69465, 2.35785, 1e-5, -30.0, 8.97991]
    assert unpacked_floats(packed_floats(values)) == tuple(values)
    assert unpacked_floats(values) == tuple(values), "training's plain lists read the same"
    raw = json.loads(MODEL.read_text(encoding="utf-8"))
    assert isinstance(raw["idf"], str) and len(unpacked_floats(raw["idf"])) == len(raw["vocabulary"])


def test_the_hybrid_holds_its_floors_on_the_test_policies():
    figures = evaluate.score(evaluate.labelled("test"))["combined"]
    below = {t: round(figures[t]["f1"], 3) for t, floor in TEST_FLOORS.items() if figures[t]["f1"] < floor}
    assert not below, f"F1 under the floor on test policies: {below}"
    imprecise = {t: round(figures[t]["precision"], 3) for t, floor in PRECISION_FLOORS.items()
                 if figures[t]["precision"] < floor}
    assert not imprecise, f"precision under the floor on test policies: {imprecise}"


def test_a_passing_mention_does_not_make_a_paragraph_about_children():
    paragraph = ("We use service providers to host our website, process payments and send e-mails. Some of our "
                 "products are popular with families and children's birthday parties. These providers act on "
                 "our instructions and may not use your data for their own purposes.")
    assert "minors" not in {h.topic for h in classify(paragraph, "Service providers")}


def test_a_clause_under_a_childrens_heading_is_about_minors():
    hits = {h.topic for h in classify("If we learn that we hold such data, we may keep it.", "Children's Privacy")}
    assert "minors" in hits


def test_model_hits_carry_evidence_from_the_text():
    for text in ["We use your chats to train and improve our machine learning models.",
                 "Our advertising partners build a profile of your interests to show you tailored ads."]:
        hits = classify(text)
        assert "ads_ai" in {h.topic for h in hits}
        assert all(h.evidence and h.evidence in text for h in hits)


def test_features_are_words_pairs_and_heading_words():
    assert features("Keep 12 months", "Data retention") == ["keep", "0", "months", "keep 0", "0 months",
                                                            "h:data", "h:retention"]


def test_a_language_without_a_model_is_refused_by_classify_and_known_by_name():
    assert knows_language("en-GB") and not knows_language("de-AT")
    with pytest.raises(LookupError):
        classify("Wir geben Daten an Partner weiter.", language="de")


def test_a_german_source_is_stored_and_diffed_but_reported_unrated(cli, site, make_config, sqlite_url):
    policy = ("<main><h1>Datenschutzerklärung</h1>"
              "<p>Diese Datenschutzerklärung beschreibt, welche personenbezogenen Daten wir erheben, wenn Sie "
              "unsere Website und unsere App nutzen, wofür wir sie verwenden und welche Rechte Sie haben. "
              "Verantwortlich ist die Beispiel GmbH, Musterstraße 1, 1010 Wien.</p>"
              "<h2>Kinder</h2><p>Unser Dienst richtet sich nicht an Kinder unter 16 Jahren. Erfahren wir, dass "
              "ein Kind uns Daten übermittelt hat, löschen wir diese Daten unverzüglich.</p>"
              "<h2>Speicherung</h2><p>Wir speichern Protokolle 12 Monate lang und löschen sie danach. "
              "Vertragsdaten bewahren wir so lange auf, wie es die gesetzlichen Aufbewahrungsfristen verlangen.</p>"
              "<h2>Weitergabe</h2><p>Wir geben Ihre Daten nur an Dienstleister weiter, die uns beim Betrieb "
              "des Dienstes helfen und vertraglich gebunden sind. Eine Weitergabe zu Werbezwecken findet nicht "
              "statt.</p><h2>Ihre Rechte</h2><p>Sie haben das Recht auf Auskunft, Berichtigung, Löschung und "
              "Einschränkung der Verarbeitung sowie das Recht, sich bei der Datenschutzbehörde zu beschweren. "
              "Wenden Sie sich dazu an datenschutz@example.org.</p></main>")
    url = site.set("/datenschutz", policy)
    config = make_config([{"name": "beispiel", "url": url, "language": "de-AT"}])

    validated = cli("--config", config, "validate")
    assert validated.exit_code == 0 and "language 'de'" in validated.stderr
    assert cli("--config", config, "--db", sqlite_url, "check").exit_code == 0
    site.set("/datenschutz", policy.replace("unter 16 Jahren", "unter 13 Jahren").replace("12 Monate", "10 Jahre"))
    result = cli("--config", config, "--db", sqlite_url, "check", "--json")

    assert result.exit_code == 0
    [r] = result.json()["results"]
    assert r["status"] == "changed" and r["alert_topics"] == []
    assert r["changes"] and all(c["topics"] == [] and c["severity"] is None and c["not_rated"] == "language de"
                                for c in r["changes"])

    # the table says the changes were not rated, never that they were judged outside the watched topics
    site.set("/datenschutz", policy.replace("unter 16 Jahren", "unter 13 Jahren").replace("12 Monate", "10 Jahre")
             .replace("Eine Weitergabe zu Werbezwecken findet nicht statt.", "Wir geben Daten an Werbepartner."))
    table = cli("--config", config, "--db", sqlite_url, "check")
    row = " ".join(table.stdout.replace("│", " ").split())  # the row's cells, wrapped onto several lines, joined
    assert table.exit_code == 0 and "beispiel changed v2 → v3 - 1 change, not rated (language de)" in row, table.stdout
    assert "in substance" not in table.stdout


def test_language_tags_are_read_the_same_way_everywhere():
    from monitor.config import config_warnings, parse_config
    from monitor.meaning.model import primary_language

    assert {primary_language(tag) for tag in ("en", "EN", "en-GB", "en_US", " en-us ")} == {"en"}
    assert knows_language("en_US") and classify("We sell your data to brokers.", language="EN_us")
    config = parse_config("sources:\n  - name: a\n    url: https://example.org/p\n    language: en_US\n")
    assert config_warnings(config, available_languages()) == []
