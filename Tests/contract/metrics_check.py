"""GET /metrics through the reference Prometheus text parser (prometheus_client), and counters
that move with real traffic by exactly what was sent.

Usage: python metrics_check.py PORT [--after-load]   (run by Tests/contract/contract.sh)
"""
import json
import socket
import sys
import urllib.error
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


def value_or_zero(families, name, labels=None, suffix=""):
    try:
        return value(families, name, labels, suffix)
    except (AssertionError, KeyError):
        return 0.0


def get_status(path):
    try:
        with urllib.request.urlopen(BASE + path) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def raw(request_bytes):
    """Sends bytes on a fresh connection; returns the status line."""
    with socket.create_connection(("127.0.0.1", PORT), timeout=10) as s:
        s.sendall(request_bytes)
        return s.recv(4096).split(b"\r\n", 1)[0].decode()


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
    ("unfold_ingest_batches", "counter"), ("unfold_ingest_fsync_duration_seconds", "histogram"),
    ("unfold_ingest_commit_batches", "histogram"), ("unfold_ingest_log_bytes", "counter"), ("unfold_users_remembered", "gauge"), ("unfold_user_events_stored", "gauge"), ("process_resident_memory_bytes", "gauge"), ("process_open_fds", "gauge"),
    ("process_start_time_seconds", "gauge"), ("unfold_http_requests", "counter"),
    ("unfold_http_request_duration_seconds", "histogram"), ("unfold_http_open_connections", "gauge"),
    ("unfold_http_connections", "counter"), ("unfold_http_received_bytes", "counter"), ("unfold_http_sent_bytes", "counter"),
    ("unfold_http_protocol_errors", "counter"), ("unfold_http_timeouts", "counter"), ("unfold_http_requests_in_flight", "gauge"), ("unfold_build_info", "gauge"), ("unfold_log_lines_dropped", "counter"),
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
    syncs = value(before, "unfold_ingest_fsync_duration_seconds", {}, "_count")
    carried = value(before, "unfold_ingest_commit_batches", {}, "_sum")
    log_bytes = value(before, "unfold_ingest_log_bytes", {}, "_total")
    users = value(before, "unfold_users_remembered", {})
    events = value(before, "unfold_user_events_stored", {})
    received = value(before, "unfold_http_received_bytes", {}, "_total")
    sent = value(before, "unfold_http_sent_bytes", {}, "_total")
    accepted = value(before, "unfold_http_connections", {"outcome": "accepted"}, "_total")
    no_host = value(before, "unfold_http_protocol_errors", {"kind": "bad_request"}, "_total")
    too_long = value(before, "unfold_http_protocol_errors", {"kind": "uri_too_long"}, "_total")
    recommend_route = {"route": "/v1/recommend", "method": "POST"}
    http_ok = value_or_zero(before, "unfold_http_requests", {**recommend_route, "status": "2xx"}, "_total")
    http_timed = value_or_zero(before, "unfold_http_request_duration_seconds", recommend_route, "_count")
    similar_route = {"route": "/v1/items/{id}/similar", "method": "GET", "status": "4xx"}
    similar_missing = value_or_zero(before, "unfold_http_requests", similar_route, "_total")
    unmatched = value_or_zero(before, "unfold_http_requests", {"route": "unmatched", "status": "4xx"}, "_total")
    for _ in range(5):
        status, answer = post("/v1/recommend", {"interactions": [{"item": "i1"}, {"item": "i2"}], "k": 3})
        assert status == 200 and answer["source"] == "model", answer
    for _ in range(2):
        status, answer = post("/v1/recommend", {"interactions": [{"item": "nope"}], "k": 3})
        assert answer["source"] == "popular", answer
    status, _ = post("/v1/interactions", {"interactions": [{"user": "metrics-u", "item": "i1"}, {"user": "metrics-u", "item": "i2"}, {"user": "metrics-v", "item": "i3"}]})
    assert status == 202
    assert get_status("/v1/items/no-such-item/similar") == 404
    assert get_status("/no/such/route/one") == 404
    assert get_status("/no/such/route/two") == 404
    assert raw(b"GET /healthz HTTP/1.1\r\n\r\n").startswith("HTTP/1.1 400"), "no Host"
    assert raw(b"GET /" + b"a" * 20000 + b" HTTP/1.1\r\nHost: x\r\n\r\n").startswith("HTTP/1.1 414")
    after = scrape()
    assert value(after, "unfold_http_protocol_errors", {"kind": "bad_request"}, "_total") == no_host + 1
    assert value(after, "unfold_http_protocol_errors", {"kind": "uri_too_long"}, "_total") == too_long + 1
    # urllib opens a connection per request: 7 recommends, 1 ingest, 3 GETs, 2 raw, this scrape
    assert value(after, "unfold_http_connections", {"outcome": "accepted"}, "_total") == accepted + 14
    assert value(after, "unfold_http_received_bytes", {}, "_total") > received + 20000
    assert value(after, "unfold_http_sent_bytes", {}, "_total") > sent
    assert value(after, "unfold_http_open_connections", {}) >= 1
    assert value(after, "unfold_http_requests", {**recommend_route, "status": "2xx"}, "_total") == http_ok + 7
    assert value(after, "unfold_http_request_duration_seconds", recommend_route, "_count") == http_timed + 7
    assert value(after, "unfold_http_requests", similar_route, "_total") == similar_missing + 1
    assert value(after, "unfold_http_requests", {"route": "unmatched", "status": "4xx"}, "_total") == unmatched + 2
    raw_paths = [s.labels["route"] for s in after["unfold_http_requests"].samples if "route" in s.labels]
    assert not any("no-such" in r or "/no/such" in r for r in raw_paths), raw_paths
    assert value(after, "unfold_http_requests_in_flight", {}) >= 1  # the scrape itself
    assert value(after, "unfold_recommendations", {"model": "wals", "source": "model"}, "_total") == model + 5
    assert value(after, "unfold_recommendations", {"model": "wals", "source": "popular"}, "_total") == popular + 2
    assert value(after, "unfold_recommend_unknown_items", {"model": "wals"}, "_total") == unknown + 2
    assert value(after, "unfold_encode_duration_seconds", {"model": "wals"}, "_count") == encoded + 5
    assert value(after, "unfold_ingest_records", {"outcome": "accepted"}, "_total") == records + 3
    assert value(after, "unfold_users_remembered", {}) == users + 2
    assert value(after, "unfold_user_events_stored", {}) == events + 3
    assert value(after, "unfold_ingest_batches", {"outcome": "accepted"}, "_total") == batches + 1
    assert value(after, "unfold_ingest_fsync_duration_seconds", {}, "_count") == syncs + 1
    assert value(after, "unfold_ingest_commit_batches", {}, "_sum") == carried + 1
    # three records: 8-hex CRC, tab, user, tab, item, tab, weight, tab, timestamp, LF each
    assert value(after, "unfold_ingest_log_bytes", {}, "_total") > log_bytes + 3 * 16
    assert value(after, "unfold_model_active_version", {"model": "wals"}) > 0
    assert value(after, "unfold_build_info", {}) == 1
    print(f"/metrics: {len(after)} families parse; HTTP (by route template; connections, bytes, protocol errors), recommendation, ingest and latency counters moved by exactly the traffic sent")


main()
