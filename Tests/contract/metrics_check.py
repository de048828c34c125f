"""GET /metrics through the reference Prometheus text parser (prometheus_client), and counters
that move with real traffic by exactly what was sent.

Usage: python metrics_check.py PORT [--after-load]   (run by Tests/contract/contract.sh)
"""
import json
import sys
import urllib.request

from prometheus_client.parser import text_string_to_metric_families

PORT = int(sys.argv[1])
BASE = f"http://127.0.0.1:{PORT}"


def scrape():
    with urllib.request.urlopen(BASE + "/metrics") as response:
        assert response.status == 200
        kind = response.headers["Content-Type"]
        assert kind.startswith("text/plain; version=0.0.4"), kind
        text = response.read().decode("utf-8")
    families = {f.name: f for f in text_string_to_metric_families(text)}
    return families


def value(families, name, labels=None, suffix=""):
    """The sample `name+suffix` of family `name` whose labels include `labels`."""
    family = families[name]
    for sample in family.samples:
        if sample.name == name + suffix and all(sample.labels.get(k) == v for k, v in (labels or {}).items()):
            return sample.value
    raise AssertionError(f"no sample {name}{suffix} {labels}")


def post(path, body):
    request = urllib.request.Request(BASE + path, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request) as response:
        return response.status, json.loads(response.read())


EXPECTED = [
    ("unfold_recommendations", "counter"), ("unfold_recommend_unknown_items", "counter"), ("unfold_fold_in_failures", "counter"),
    ("unfold_encode_duration_seconds", "histogram"), ("unfold_retrieval_duration_seconds", "histogram"),
    ("unfold_retrieval_candidates_rescored", "counter"), ("unfold_model_active_version", "gauge"),
    ("unfold_model_snapshot_age_seconds", "gauge"), ("unfold_model_load_duration_seconds", "histogram"), ("unfold_model_swaps", "counter"),
    ("unfold_jobs", "gauge"), ("unfold_job_duration_seconds", "histogram"), ("unfold_ingest_records", "counter"),
    ("unfold_ingest_batches", "counter"), ("process_resident_memory_bytes", "gauge"), ("process_open_fds", "gauge"),
    ("process_start_time_seconds", "gauge"), ("unfold_build_info", "gauge"), ("unfold_log_lines_dropped", "counter"),
]


def main():
    before = scrape()
    for name, kind in EXPECTED:
        assert name in before, f"{name} missing from /metrics"
        assert before[name].type == kind, f"{name} is a {before[name].type}, expected {kind}"
    if "--after-load" in sys.argv:
        print(f"/metrics parses after the contract run: {len(before)} families")
        return
    model = value(before, "unfold_recommendations", {"model": "wals", "source": "model"}, "_total")
    popular = value(before, "unfold_recommendations", {"model": "wals", "source": "popular"}, "_total")
    unknown = value(before, "unfold_recommend_unknown_items", {"model": "wals"}, "_total")
    encoded = value(before, "unfold_encode_duration_seconds", {"model": "wals"}, "_count")
    records = value(before, "unfold_ingest_records", {"outcome": "accepted"}, "_total")
    batches = value(before, "unfold_ingest_batches", {"outcome": "accepted"}, "_total")
    for _ in range(5):
        status, answer = post("/v1/recommend", {"interactions": [{"item": "i1"}, {"item": "i2"}], "k": 3})
        assert status == 200 and answer["source"] == "model", answer
    for _ in range(2):
        status, answer = post("/v1/recommend", {"interactions": [{"item": "nope"}], "k": 3})
        assert answer["source"] == "popular", answer
    status, _ = post("/v1/interactions", {"interactions": [{"user": "u", "item": "i1"}, {"user": "u", "item": "i2"}, {"user": "v", "item": "i3"}]})
    assert status == 202
    after = scrape()
    assert value(after, "unfold_recommendations", {"model": "wals", "source": "model"}, "_total") == model + 5
    assert value(after, "unfold_recommendations", {"model": "wals", "source": "popular"}, "_total") == popular + 2
    assert value(after, "unfold_recommend_unknown_items", {"model": "wals"}, "_total") == unknown + 2
    assert value(after, "unfold_encode_duration_seconds", {"model": "wals"}, "_count") == encoded + 5
    assert value(after, "unfold_ingest_records", {"outcome": "accepted"}, "_total") == records + 3
    assert value(after, "unfold_ingest_batches", {"outcome": "accepted"}, "_total") == batches + 1
    assert value(after, "unfold_model_active_version", {"model": "wals"}) > 0
    assert value(after, "unfold_build_info", {}) == 1
    print(f"/metrics: {len(after)} families parse; recommendation, ingest and latency counters moved by exactly the traffic sent")


main()
