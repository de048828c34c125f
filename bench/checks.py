#!/usr/bin/env python3
"""Two builds of `unfold`, alternating runs: what bounds and overflow checks in UnfoldData cost.

Each round runs both binaries (A then B on odd rounds, B then A on even ones, so a drift in
the machine's load hits both alike) on:

  generate  `unfold generate` of the data set (the seeded generator and the TSV writer)
  split     `unfold split --method random` of it: the TSV reader, the splitter, two TSV writes,
            all UnfoldData and single-threaded
  read      `unfold train`'s read phase: the TSV parse, the id maps, the user x item CSR build
  setup     from the train phase to the first iteration: the transpose and the initial factors
  iteration median seconds of a WALS iteration (UnfoldTraining; unchanged, a control)
  train cpu the whole `unfold train` run's CPU seconds: all of the above but generate and split

Wall seconds, and CPU seconds (user + system) of whole commands, which move less than wall
time when other tenants load the machine.

Usage: bench/checks.py A_BIN B_BIN [--rounds 5] [--users 200000 --items 50000
                                    --interactions 10000000] [--work DIR]
"""
import argparse
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time


def timed(command):
    """Runs a command; returns its result, wall seconds and CPU seconds (user + system)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    run = subprocess.run(command, capture_output=True, text=True, check=True)
    wall = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return run, wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def generate(binary, args, out):
    _, wall, cpu = timed([binary, "generate", "--users", str(args.users), "--items", str(args.items),
                          "--interactions", str(args.interactions), "--groups", "10", "--seed", "7", "--out", out])
    return wall, cpu


def split(binary, data, work):
    _, wall, cpu = timed([binary, "split", "--data", data, "--method", "random", "--test-fraction", "0.2",
                          "--train-out", os.path.join(work, "train.tsv"), "--test-out", os.path.join(work, "test.tsv")])
    return wall, cpu


def train(binary, args, data, out):
    run, _, cpu = timed([binary, "train", "--model", "wals", "--data", data, "--out", out,
                         "--factors", "64", "--iterations", str(args.iterations), "--solver", "cg",
                         "--cg-steps", "3", "--neighbours", "0", "--threads", "2", "--progress", "json"])
    events = [json.loads(line) for line in run.stdout.splitlines() if line.startswith("{")]
    train_start = next(e["elapsed"] for e in events if e.get("phase") == "train" and "iteration" not in e)
    iterations = [e for e in events if e.get("phase") == "train" and "iteration" in e]
    first = iterations[0]
    loss = iterations[-1]["loss"]
    return {
        "read": train_start,
        "setup": first["elapsed"] - first["seconds"] - train_start,
        "iteration": statistics.median(e["seconds"] for e in iterations),
        "cpu": cpu,
        "loss": loss,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("a")
    parser.add_argument("b")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--users", type=int, default=200_000)
    parser.add_argument("--items", type=int, default=50_000)
    parser.add_argument("--interactions", type=int, default=10_000_000)
    parser.add_argument("--iterations", type=int, default=3)
    parser.add_argument("--work", default=None)
    args = parser.parse_args()

    work = args.work or tempfile.mkdtemp(prefix="unfold-bench-checks.")
    os.makedirs(work, exist_ok=True)
    binaries = {"A": os.path.abspath(args.a), "B": os.path.abspath(args.b)}
    rows = {name: [] for name in binaries}
    print(f"A = {binaries['A']}\nB = {binaries['B']}")
    print(f"{args.interactions} interactions, {args.users} users x {args.items} items; WALS d=64, CG 3 steps, "
          f"{args.iterations} iterations, 2 threads; {args.rounds} alternating rounds")
    columns = ["generate", "generate cpu", "split", "split cpu", "read", "setup", "iteration", "train cpu"]
    header = "".join(f"{c:>13}" for c in columns)
    print(f"{'round':<6}{'build':<6}{header}  final loss   (seconds)")
    for round_ in range(1, args.rounds + 1):
        order = ["A", "B"] if round_ % 2 else ["B", "A"]
        for name in order:
            data = os.path.join(work, f"data-{name}.tsv")
            g_wall, g_cpu = generate(binaries[name], args, data)
            s_wall, s_cpu = split(binaries[name], data, work)
            t = train(binaries[name], args, data, os.path.join(work, f"snapshots-{name}"))
            os.remove(data)
            row = {"generate": g_wall, "generate cpu": g_cpu, "split": s_wall, "split cpu": s_cpu,
                   "read": t["read"], "setup": t["setup"], "iteration": t["iteration"], "train cpu": t["cpu"],
                   "loss": t["loss"]}
            rows[name].append(row)
            print(f"{round_:<6}{name:<6}" + "".join(f"{row[c]:>13.2f}" for c in columns) + f"  {t['loss']:.9g}", flush=True)
    print()
    print(f"{'median':<12}{header}")
    medians = {}
    for name in binaries:
        medians[name] = {c: statistics.median(r[c] for r in rows[name]) for c in columns}
        print(f"{name:<12}" + "".join(f"{medians[name][c]:>13.2f}" for c in columns))
    print(f"{'B/A':<12}" + "".join(f"{medians['B'][c] / medians['A'][c]:>13.3f}" for c in columns))
    if rows["A"][-1]["loss"] != rows["B"][-1]["loss"]:
        print("note: the two builds end at different losses", file=sys.stderr)


if __name__ == "__main__":
    main()
