"""Writes N finished job records, as the server keeps them, into a jobs directory."""
import json
import os
import sys

directory, count, data = sys.argv[1], int(sys.argv[2]), sys.argv[3]
os.makedirs(directory, exist_ok=True)
for k in range(count):
    job = f"job-{1700000000000 + k}-{k:08x}"
    state = ["succeeded", "failed", "cancelled"][k % 3]
    record = {
        "id": job, "model": "wals", "state": state,
        "spec": {"model": "wals", "name": "wals", "params": {"factors": 8, "iterations": 2}, "data": {"path": data, "skip_bad_lines": False}},
        "arguments": ["train", "--spec", f"{directory}/{job}.spec.json"],
        "created_at": "2026-11-01T00:00:00.000Z", "started_at": "2026-11-01T00:00:01.000Z", "finished_at": "2026-11-01T00:00:09.000Z",
        "progress": {"phase": "done", "elapsed": 8.0}, "notes": [], "stderr_tail": [f"line of job {k}"],
        "time_limit_seconds": 3600, "force": False,
    }
    if state == "failed":
        record["error"] = "the trainer exited with status 1: fixture"
    with open(os.path.join(directory, job + ".json"), "w") as f:
        json.dump(record, f)
