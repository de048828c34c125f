"""Trains Spark ML's implicit ALS on interaction data and writes an exchange directory that
`unfold import --from spark-als DIR` turns into a served model.

    spark-submit [--master ...] spark/unfold_als.py --data URI --out DIR [--test URI] ...

docs/spark.md describes the arguments, the progress lines on stdout and the exchange
directory byte by byte. The parsing and metric functions at the top are plain Python, so
spark/test_unfold_als.py tests them without a JVM; pyspark is imported inside run().
"""

import argparse
import json
import math
import os
import re
import sys
import threading
import time
import traceback
import zlib
from collections import namedtuple
from datetime import datetime, timezone
from urllib.parse import urlparse

import numpy as np

FORMAT = "unfold-spark-als"
FORMAT_VERSION = 1
K = 10  # the cut-off of the evaluation metrics

# Column names a header may use (the same sets as Unfold's ColumnLayout).
USER_NAMES = {"user", "user_id", "userid", "uid"}
ITEM_NAMES = {"item", "item_id", "itemid", "iid", "movie_id"}
WEIGHT_NAMES = {"weight", "rating", "value", "count", "score"}
TIMESTAMP_NAMES = {"timestamp", "time", "ts"}

# Spark's ALS casts ratings to float32, and Unfold reads weights as float32: a larger weight
# would become infinite.
FLOAT32_MAX = 3.4028234663852886e38

# A decimal number as Swift's Float(String) reads it, without its spellings of infinity, NaN
# and hex. Python's float() alone would also take " 2" and "1_000", which Unfold rejects.
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")

Layout = namedtuple("Layout", "user item weight timestamp")
POSITIONAL = Layout(0, 1, 2, 3)


class LineError(ValueError):
    """A line that is not a valid record; the message is the reason."""


class JobError(Exception):
    """A problem the job reports in one line on stderr before exiting with status 1."""


def guess_format(uri):
    """`.csv` is CSV, `.jsonl`/`.ndjson`/`.json` JSON Lines, anything else TSV; a trailing
    `.gz` is ignored."""
    name = uri.lower()
    if name.endswith(".gz"):
        name = name[:-3]
    if name.endswith(".csv"):
        return "csv"
    if name.endswith((".jsonl", ".ndjson", ".json")):
        return "jsonl"
    return "tsv"


def strip_line(line):
    """The line without a trailing carriage return (a CRLF file read by line)."""
    return line[:-1] if line.endswith("\r") else line


def is_content(line):
    """Neither empty nor a `#` comment."""
    line = strip_line(line)
    return bool(line) and not line.startswith("#")


def split_fields(line, fmt):
    """Tab- or comma-separated fields; a CSV field wrapped in double quotes loses them (no
    other quoting rules, as in Unfold: a quoted field cannot contain a comma)."""
    if fmt == "tsv":
        return line.split("\t")
    return [f[1:-1] if len(f) >= 2 and f[0] == '"' and f[-1] == '"' else f for f in line.split(",")]


def header_layout(fields):
    """The layout a header line names, or None if the line names no user column (it is then
    a record). RecBole's `name:type` columns are read by their name. Raises ValueError for
    a header with a user column but no item column."""
    names = [f.split(":", 1)[0].strip().lower() for f in fields]

    def first(candidates):
        return next((k for k, name in enumerate(names) if name in candidates), None)

    user = first(USER_NAMES)
    if user is None:
        return None
    item = first(ITEM_NAMES)
    if item is None:
        raise ValueError("header names a user column but no item column (one of %s)" % ", ".join(sorted(ITEM_NAMES)))
    return Layout(user, item, first(WEIGHT_NAMES), first(TIMESTAMP_NAMES))


def decide_layout(first_line, fmt):
    """(layout, header line or None) from the first line that is neither empty nor a comment.
    Without a header the columns are `user item [weight] [timestamp]`."""
    line = strip_line(first_line)
    layout = header_layout(split_fields(line, fmt))
    return (POSITIONAL, None) if layout is None else (layout, line)


def read_number(text):
    """The value of a decimal number, or None."""
    return float(text) if _NUMBER.fullmatch(text) else None


def check_weight(value, text):
    if value is None or not 0 <= value <= FLOAT32_MAX:  # NaN fails the comparison too
        raise LineError("weight %r is not a non-negative number" % text)
    return value


def check_id(value):
    # items.tsv and users.tsv hold one UTF-8 id a line, tab-separated from its count.
    if "\t" in value or "\n" in value or "\r" in value:
        raise LineError("id %r contains a tab or line break" % value)
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate, as JSON's "\ud800"
        raise LineError("id %r is not valid Unicode" % value) from None
    return value


def parse_delimited(line, fmt, layout):
    """(user, item, weight) of a TSV or CSV record; the timestamp, if any, must be a number
    but is not used (ALS has no notion of time)."""
    fields = split_fields(line, fmt)
    needed = max(layout.user, layout.item)
    if len(fields) <= needed:
        raise LineError("expected at least %d %s-separated fields, found %d"
                        % (needed + 1, "tab" if fmt == "tsv" else "comma", len(fields)))
    user, item = fields[layout.user], fields[layout.item]
    if not user or not item:
        raise LineError("empty user or item id")
    weight = 1.0
    if layout.weight is not None and layout.weight < len(fields):
        text = fields[layout.weight]
        weight = check_weight(read_number(text), text)
    if layout.timestamp is not None and layout.timestamp < len(fields):
        stamp = read_number(fields[layout.timestamp])
        if stamp is None or not math.isfinite(stamp):
            raise LineError("timestamp %r is not a number" % fields[layout.timestamp])
    return check_id(user), check_id(item), weight


def _is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def json_id(record, key):
    """A JSON id as a string: a non-empty string as is, a number in its shortest form
    (42 and 42.0 both become "42")."""
    if key not in record:
        raise LineError('missing "%s"' % key)
    value = record[key]
    if isinstance(value, str) and value:
        return check_id(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, float) and math.isfinite(value):
        return str(int(value)) if value.is_integer() else repr(value)
    raise LineError('"%s" must be a non-empty string or a number' % key)


def parse_json_line(line):
    """(user, item, weight) of `{"user": "u1", "item": 42, "weight": 2.5}`; weight defaults
    to 1, a timestamp must be a number but is not used."""
    try:
        record = json.loads(line)
    except ValueError:
        raise LineError("not a JSON object") from None
    if not isinstance(record, dict):
        raise LineError("not a JSON object")
    user, item = json_id(record, "user"), json_id(record, "item")
    weight = 1.0
    if "weight" in record:
        value = record["weight"]
        if not _is_number(value) or not 0 <= value <= FLOAT32_MAX:
            raise LineError('"weight" must be a non-negative number')
        weight = float(value)
    if "timestamp" in record:
        value = record["timestamp"]
        if not _is_number(value) or (isinstance(value, float) and not math.isfinite(value)):
            raise LineError('"timestamp" must be a number')
    return user, item, weight


def parse_line(line, fmt, layout=None, header=None):
    """(user, item, weight) of one line, or None for a line that is not a record (empty, a
    comment, or the header line); raises LineError for a bad line. Every file of a
    multi-file input repeats its header, so any line equal to the header is skipped."""
    line = strip_line(line)
    if not line or line.startswith("#") or line == header:
        return None
    if fmt == "jsonl":
        return parse_json_line(line)
    return parse_delimited(line, fmt, layout)


def parse_rows(rows, fmt, layout, header):
    """Spark side: (file, line) rows to (user, item, weight, file, line, reason) tuples, the
    first three set for a record, the last three for a bad line (its text shortened)."""
    for file, line in rows:
        try:
            record = parse_line(line, fmt, layout, header)
        except LineError as error:
            text = line if len(line) <= 200 else line[:200] + "..."
            yield None, None, None, file, text, str(error)
            continue
        if record is not None:
            yield record[0], record[1], record[2], None, None, None


def top_k(scores, k):
    """Indices of the k highest finite scores, best first (ties by index)."""
    candidates = np.flatnonzero(np.isfinite(scores))
    if len(candidates) > k:
        # Everything scoring at least the k-th best, so that a tie at the cut goes by index.
        kth = np.partition(scores[candidates], len(candidates) - k)[len(candidates) - k]
        candidates = candidates[scores[candidates] >= kth]
    return candidates[np.lexsort((candidates, -scores[candidates]))][:k]


def ndcg_recall(ranked, relevant, k):
    """NDCG@k and recall@k of a ranked list against a non-empty set of relevant items, binary
    relevance: DCG = Σ_j rel(j) / log2(j + 2) over the first k, divided by the DCG of
    min(k, |relevant|) hits; recall = hits / |relevant| (as Unfold's own evaluation reports it)."""
    hits = [j for j, item in enumerate(ranked[:k]) if item in relevant]
    ideal = min(k, len(relevant))
    dcg = sum(1 / math.log2(j + 2) for j in hits)
    idcg = sum(1 / math.log2(j + 2) for j in range(ideal))
    return dcg / idcg, len(hits) / len(relevant)


def score_users(rows, item_factors, k):
    """Spark side: (user factor, training items, test items) rows to (NDCG@k, recall@k, 1),
    scoring users in batches (one matrix product per batch)."""
    batch = []

    def flush():
        scores = np.asarray([row[0] for row in batch], dtype=np.float32) @ item_factors.T
        for (_, train, test), s in zip(batch, scores):
            s[train] = -np.inf  # a training item is never recommended
            yield ndcg_recall(top_k(s, k).tolist(), set(test), k) + (1,)
        batch.clear()

    for row in rows:
        batch.append(row)
        if len(batch) == 256:
            yield from flush()
    if batch:
        yield from flush()


def fingerprint(records, crc_sum):
    """32 hex digits: the record count, then the sum of the records' CRC-32s mod 2^64."""
    return "%016x%016x" % (records, crc_sum % (1 << 64))


def error_line(text):
    """Writes `unfold_als: TEXT` to spark-submit's stderr. Under spark-submit the Python
    driver's own stderr is merged into spark-submit's stdout (PythonRunner starts Python with
    redirectErrorStream), so the line goes through the JVM's System.err, reached over the
    py4j gateway spark-submit opened for the driver."""
    line = "unfold_als: %s" % text
    if "PYSPARK_GATEWAY_PORT" not in os.environ:  # plain Python: the unit tests
        sys.stderr.write(line + "\n")
        return
    from pyspark import SparkContext
    from pyspark.java_gateway import launch_gateway  # connects to spark-submit's JVM

    err = (SparkContext._gateway or launch_gateway()).jvm.java.lang.System.err
    err.println(line)
    err.flush()


def parse_args(argv):
    class Parser(argparse.ArgumentParser):
        def error(self, message):  # one line, not argparse's usage block
            error_line(message)
            self.exit(2)

    def at_least(minimum, kind):
        def convert(text):
            try:
                value = kind(text)
            except ValueError:
                raise argparse.ArgumentTypeError("%r is not a number" % text) from None
            if not value >= minimum or (kind is float and not math.isfinite(value)):
                raise argparse.ArgumentTypeError("%s is not a finite number >= %s" % (text, minimum))
            return value
        return convert

    p = Parser(prog="unfold_als", description="Train Spark ML implicit ALS and write an Unfold exchange directory.")
    p.add_argument("--data", required=True, help="interactions: any URI Spark reads (file, directory, glob)")
    p.add_argument("--out", required=True, help="the exchange directory: a local path or a Hadoop URI")
    p.add_argument("--test", help="held-out interactions for NDCG@10 and recall@10")
    p.add_argument("--format", choices=["auto", "tsv", "csv", "jsonl"], default="auto")
    p.add_argument("--factors", type=at_least(1, int), default=64)
    p.add_argument("--regularization", type=at_least(0, float), default=0.1)
    p.add_argument("--alpha", type=at_least(0, float), default=1.0)
    p.add_argument("--iterations", type=at_least(1, int), default=15)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--sample-users", type=at_least(0, int), default=300)
    p.add_argument("--skip-bad-lines", action="store_true")
    p.add_argument("--checkpoint-dir", help="where ALS checkpoints (default: DIR/.checkpoints); on a cluster, shared storage")
    p.add_argument("--partitions", type=at_least(1, int),
                   help="ALS user and item blocks and shuffle partitions (default: Spark's 10 blocks, two partitions per core)")
    return p.parse_args(argv)


_print_lock = threading.Lock()


def progress(phase, detail):
    """One `UNFOLD_PROGRESS {...}` line on stdout, the only thing the job prints there."""
    with _print_lock:
        sys.stdout.write("UNFOLD_PROGRESS %s\n" % json.dumps({"phase": phase, "detail": detail}))
        sys.stdout.flush()


class StageWatcher:
    """While a phase runs, polls Spark's status tracker every 2 s and reports the active
    stages of the phase's job group and how many of its stages are done, when that changes."""

    def __init__(self, sc, phase):
        self.sc, self.phase, self.group = sc, phase, "unfold-" + phase
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self.poll, daemon=True)

    def __enter__(self):
        # Job groups are per thread (PySpark pins each Python thread to a JVM thread).
        self.sc.setJobGroup(self.group, "unfold_als " + self.phase)
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stopped.set()
        self.thread.join()
        self.sc.setLocalProperty("spark.jobGroup.id", None)

    def describe(self):
        tracker = self.sc.statusTracker()
        active = set(tracker.getActiveStageIds())
        running, done = [], set()
        for job in tracker.getJobIdsForGroup(self.group):
            info = tracker.getJobInfo(job)
            for stage in info.stageIds if info else []:
                s = tracker.getStageInfo(stage)
                if s is None:
                    continue
                if stage in active:
                    running.append("stage %d (%d/%d tasks)" % (stage, s.numCompletedTasks, s.numTasks))
                elif s.numTasks and s.numCompletedTasks >= s.numTasks:
                    done.add(stage)  # a stage skipped for a reused shuffle completes no task
        if not running:
            return None
        return "%s, %d stages done" % (", ".join(sorted(set(running))), len(done))

    def poll(self):
        last = None
        while not self.stopped.wait(2.0):
            try:
                detail = self.describe()
            except Exception:  # the JVM may be going away; progress is best effort
                return
            if detail and detail != last:
                progress(self.phase, detail)
                last = detail


class LocalDir:
    """The exchange directory on the local file system."""

    def __init__(self, path):
        self.path = path
        os.makedirs(path, exist_ok=True)

    def remove(self, name):
        try:
            os.remove(os.path.join(self.path, name))
        except FileNotFoundError:
            pass

    def write(self, name, data):
        with open(os.path.join(self.path, name), "wb") as f:
            f.write(data)

    def write_last(self, name, data):
        """Written under a temporary name and renamed: the file appears whole or not at all."""
        temporary = os.path.join(self.path, "." + name + ".tmp")
        with open(temporary, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(temporary, os.path.join(self.path, name))


class HadoopDir:
    """The exchange directory on any Hadoop file system (HDFS, S3A, ...)."""

    CHUNK = 8 << 20  # bytes per call across py4j

    def __init__(self, spark, uri):
        jvm = spark._jvm
        self.Path = jvm.org.apache.hadoop.fs.Path
        self.dir = self.Path(uri)
        self.fs = self.dir.getFileSystem(spark._jsc.hadoopConfiguration())
        self.fs.mkdirs(self.dir)

    def remove(self, name):
        self.fs.delete(self.Path(self.dir, name), False)

    def write(self, name, data):
        stream = self.fs.create(self.Path(self.dir, name), True)
        try:
            for start in range(0, len(data), self.CHUNK):
                stream.write(bytearray(data[start:start + self.CHUNK]))
        finally:
            stream.close()

    def write_last(self, name, data):
        """Renamed into place where the file system renames atomically (HDFS); on an object
        store the object appears whole when its upload completes."""
        temporary = "_" + name + ".tmp"
        self.write(temporary, data)
        self.remove(name)
        if not self.fs.rename(self.Path(self.dir, temporary), self.Path(self.dir, name)):
            raise JobError("could not rename %s to %s in %s" % (temporary, name, self.dir.toString()))


class Checkpoints:
    """Where ALS checkpoints its factors every 10 iterations. Without checkpoints the lineage
    of the factor RDDs grows with every iteration until a task overflows the JVM stack (it
    happened at 15 iterations on MovieLens-100k). The default is DIR/.checkpoints, a
    location every executor can reach when DIR is a Hadoop URI; the checkpoints are deleted
    before metadata.json is written and when the job fails."""

    def __init__(self, spark, out, given):
        self.spark, self.own_parent = spark, given is None
        if given is not None:
            self.parent = given
        else:
            parsed = urlparse(out)
            if parsed.scheme in ("", "file"):  # qualified, so a cluster's default file system is not used
                self.parent = "file://" + os.path.abspath(parsed.path) + "/.checkpoints"
            else:
                self.parent = out.rstrip("/") + "/.checkpoints"
        spark.sparkContext.setCheckpointDir(self.parent)

    def drop(self):
        """Deletes this run's checkpoints (Spark's per-run subdirectory, and the parent when it
        is the default one)."""
        jvm, sc = self.spark._jvm, self.spark.sparkContext
        current = sc._jsc.sc().getCheckpointDir()
        for path in ([self.parent] if self.own_parent else []) + ([current.get()] if current.isDefined() else []):
            p = jvm.org.apache.hadoop.fs.Path(path)
            p.getFileSystem(sc._jsc.hadoopConfiguration()).delete(p, True)


def open_exchange_dir(spark, uri):
    parsed = urlparse(uri)
    if parsed.scheme == "":
        return LocalDir(uri)
    if parsed.scheme == "file":
        return LocalDir(parsed.path)
    return HadoopDir(spark, uri)


def java_message(error):
    """The innermost cause of a JVM exception, in one line."""
    throwable = error.java_exception
    while throwable.getCause() is not None:
        throwable = throwable.getCause()
    return throwable.toString()


def one_line(text):
    return " ".join(str(text).split())


def read_interactions(spark, uri, fmt, skip_bad_lines, phase):
    """The records of `uri`: (DataFrame user, item, weight; the persisted parse it filters,
    for the caller to unpersist; records, skipped bad lines and the fingerprint). Lines are
    parsed in Python on the executors (mapPartitions); only counts and a few bad lines reach
    the driver."""
    from pyspark import StorageLevel
    from pyspark.sql import functions as F

    text = spark.read.text(uri)
    lines = text.select(F.input_file_name().alias("file"), "value")
    layout = header = None
    if fmt != "jsonl":
        first = text.rdd.map(lambda row: row.value).filter(is_content).take(1)
        if not first:
            raise JobError("%s: no interactions" % uri)
        try:
            layout, header = decide_layout(first[0], fmt)
        except ValueError as error:
            raise JobError("%s: %s" % (uri, error)) from None
    progress(phase, "reading %s as %s, %s" % (uri, fmt, "header %r" % header if header else "no header"))

    rows = lines.rdd.mapPartitions(lambda it: parse_rows(it, fmt, layout, header))
    parsed = spark.createDataFrame(
        rows, "user string, item string, weight double, file string, line string, reason string"
    ).persist(StorageLevel.MEMORY_AND_DISK)
    # One pass for the counts and the fingerprint: CRC-32 of "user\titem\tweight" per record,
    # summed as a decimal so that no sum overflows.
    crc = F.crc32(F.concat_ws("\t", "user", "item", F.col("weight").cast("string")).cast("binary"))
    stats = parsed.agg(
        F.count("user").alias("records"),
        F.count("reason").alias("bad"),
        F.sum(F.when(F.col("user").isNotNull(), crc).cast("decimal(38,0)")).alias("crc_sum"),
    ).first()
    records, bad = stats["records"], stats["bad"]
    if bad:
        examples = parsed.where(F.col("reason").isNotNull()).select("file", "line", "reason").limit(5).collect()
        described = ["%s: %r: %s" % (r["file"], r["line"], r["reason"]) for r in examples]
        if not skip_bad_lines:
            raise JobError("bad line in %s (--skip-bad-lines skips such lines)" % described[0])
        progress("note", "%s: skipped %d bad line%s, e.g. %s" % (uri, bad, "" if bad == 1 else "s", "; ".join(described)))
    if records == 0:
        raise JobError("%s: no interactions" % uri)
    records_df = parsed.where(F.col("user").isNotNull()).select("user", "item", "weight")
    return records_df, parsed, {
        "records": records,
        "skipped": bad,
        "fingerprint": fingerprint(records, int(stats["crc_sum"] or 0)),
    }


def evaluate(spark, indexer, indexed, user_factors, item_factors, test):
    """NDCG@10 and recall@10 over the test users known to training. Test records whose user
    or item training never saw are dropped (no model can rank them), as Unfold's evaluation
    does; each user is scored on the executors against the broadcast item table."""
    from pyspark.sql import functions as F

    known = indexer.copy().setHandleInvalid("skip").transform(test.select("user", "item").distinct())
    test_sets = known.groupBy(F.col("u").cast("int").alias("u")).agg(F.collect_set(F.col("i").cast("int")).alias("test"))
    train_sets = indexed.groupBy("u").agg(F.collect_list("i").alias("train"))
    users = (user_factors.withColumnRenamed("id", "u")
             .join(test_sets, "u").join(train_sets, "u")
             .select("features", "train", "test"))
    factors = spark.sparkContext.broadcast(item_factors)
    ndcg, recall, n = (users.rdd
                       .mapPartitions(lambda rows: score_users(rows, factors.value, K))
                       .fold((0.0, 0.0, 0), lambda a, b: (a[0] + b[0], a[1] + b[1], a[2] + b[2])))
    factors.destroy()
    if n == 0:
        return {"ndcg@%d" % K: 0.0, "recall@%d" % K: 0.0, "users": 0}
    return {"ndcg@%d" % K: ndcg / n, "recall@%d" % K: recall / n, "users": n}


def table_bytes(rows):
    """`ID<TAB>COUNT` lines, UTF-8."""
    return "".join("%s\t%d\n" % row for row in rows).encode("utf-8")


def factor_file(name, matrix):
    data = np.ascontiguousarray(matrix, dtype="<f4").tobytes()
    rows, cols = matrix.shape
    return data, {"name": name, "rows": rows, "cols": cols, "bytes": len(data), "crc32": zlib.crc32(data)}


def run(args):
    from pyspark.errors.exceptions.captured import CapturedException
    from pyspark.sql import SparkSession
    from py4j.protocol import Py4JJavaError

    spark = (SparkSession.builder.appName("unfold-als")
             .config("spark.log.level", "WARN")
             .config("spark.ui.showConsoleProgress", "false")  # progress goes to stdout as JSON
             .getOrCreate())
    sc = spark.sparkContext
    sc.setLogLevel("WARN")
    # Spark's 200 shuffle partitions are far too many on a small machine, and adaptive
    # execution cannot coalesce the shuffles of persisted DataFrames; unless --partitions or a
    # --conf says otherwise, use two per core.
    if args.partitions or not sc.getConf().contains("spark.sql.shuffle.partitions"):
        spark.conf.set("spark.sql.shuffle.partitions", str(args.partitions or 2 * sc.defaultParallelism))
    checkpoints = None
    try:
        checkpoints = Checkpoints(spark, args.out, args.checkpoint_dir)
        train_and_export(spark, args, checkpoints)
    except CapturedException as error:  # AnalysisException (a missing path) and the like
        raise JobError(one_line(str(error).split("\n")[0])) from None
    except Py4JJavaError as error:
        raise JobError(one_line(java_message(error))) from None
    finally:
        if checkpoints is not None:
            try:
                checkpoints.drop()
            except Exception as error:  # the cleanup must not hide the job's own outcome
                error_line("could not delete the checkpoints in %s: %s" % (checkpoints.parent, one_line(error)))
        spark.stop()


def index_cells(spark, args, fmt):
    """Reads --data, sums duplicate (user, item) records into cells and indexes the ids:
    (persisted DataFrame user, item, u, i, weight, records; the fitted StringIndexerModel; the
    metadata's `data` object)."""
    from pyspark import StorageLevel
    from pyspark.ml.feature import StringIndexer
    from pyspark.sql import functions as F

    records, parsed, counts = read_interactions(spark, args.data, fmt, args.skip_bad_lines, "read")
    # Summed as Unfold does: Spark's ALS would take each duplicate as a separate observation
    # (docs/spark.md, "Duplicates and indexing").
    cells = (records.groupBy("user", "item")
             .agg(F.sum("weight").alias("weight"), F.count(F.lit(1)).alias("records"))
             .persist(StorageLevel.MEMORY_AND_DISK))
    stats = cells.agg(F.count(F.lit(1)).alias("cells"),
                      F.sum((F.col("weight") > 0).cast("long")).alias("positive"),
                      F.max("weight").alias("max")).first()
    if not stats["positive"]:
        raise JobError("%s: no interaction has a positive weight" % args.data)
    if stats["max"] > FLOAT32_MAX:
        raise JobError("%s: a summed weight (%g) overflows float32" % (args.data, stats["max"]))
    # Indices by descending frequency (cells per id), ties alphabetically; ALS wants ints.
    indexer = StringIndexer(inputCols=["user", "item"], outputCols=["u", "i"]).fit(cells)
    indexed = (indexer.transform(cells)
               .select("user", "item", F.col("u").cast("int").alias("u"), F.col("i").cast("int").alias("i"),
                       "weight", "records")
               .persist(StorageLevel.MEMORY_AND_DISK))
    sizes = indexed.agg((F.max("u") + 1).alias("users"), (F.max("i") + 1).alias("items")).first()
    parsed.unpersist()  # indexed is materialised now
    cells.unpersist()
    data = {"source": args.data, "format": fmt, "records": counts["records"], "skipped": counts["skipped"],
            "cells": stats["cells"], "positive_cells": stats["positive"],
            "users": sizes["users"], "items": sizes["items"], "fingerprint": counts["fingerprint"]}
    return indexed, indexer, data


def sample_users(indexed, user_factors, n, seed):
    """Up to n users ordered by xxhash64(id, seed), then id: [(id, records, vector)]."""
    from pyspark.sql import functions as F

    key = F.xxhash64("user", F.lit(seed)).alias("key")
    chosen = (indexed.groupBy("u", "user").agg(F.sum("records").alias("records"))
              .select("u", "user", "records", key).orderBy("key", "user").limit(n))
    rows = chosen.join(user_factors, F.col("u") == F.col("id")).collect()
    rows.sort(key=lambda r: (r["key"], r["user"]))  # the join does not keep the order
    return [(r["user"], r["records"], r["features"]) for r in rows]


def train_and_export(spark, args, checkpoints):
    from pyspark.ml.recommendation import ALS
    from pyspark.sql import functions as F

    sc = spark.sparkContext
    fmt = guess_format(args.data) if args.format == "auto" else args.format
    with StageWatcher(sc, "read"):
        indexed, indexer, data = index_cells(spark, args, fmt)
    progress("read", "%d records (%d skipped), %d cells, %d users, %d items"
             % (data["records"], data["skipped"], data["cells"], data["users"], data["items"]))

    als = ALS(rank=args.factors, maxIter=args.iterations, regParam=args.regularization, alpha=args.alpha,
              implicitPrefs=True, nonnegative=False, seed=args.seed, userCol="u", itemCol="i",
              ratingCol="weight", coldStartStrategy="drop")
    if args.partitions:
        als.setNumBlocks(args.partitions)
    progress("train", "implicit ALS: %d factors, %d iterations, %d user and %d item blocks"
             % (args.factors, args.iterations, als.getNumUserBlocks(), als.getNumItemBlocks()))
    started = time.monotonic()
    with StageWatcher(sc, "train"):
        model = als.fit(indexed.select("u", "i", "weight"))
    training_seconds = time.monotonic() - started
    progress("train", "trained in %.1f s" % training_seconds)

    # The item table is collected: it has to fit one serving machine anyway.
    rows = model.itemFactors.orderBy("id").collect()
    if [r["id"] for r in rows] != list(range(data["items"])):
        raise JobError("ALS returned factors for %d of %d items" % (len(rows), data["items"]))
    item_factors = np.asarray([r["features"] for r in rows], dtype=np.float32)
    items = [(r["item"], r["records"]) for r in
             indexed.groupBy("i", "item").agg(F.sum("records").alias("records")).orderBy("i").collect()]

    evaluation = None
    if args.test:
        test_fmt = guess_format(args.test) if args.format == "auto" else args.format
        with StageWatcher(sc, "evaluate"):
            test, test_parsed, _ = read_interactions(spark, args.test, test_fmt, args.skip_bad_lines, "evaluate")
            evaluation = evaluate(spark, indexer, indexed, model.userFactors, item_factors, test)
            test_parsed.unpersist()
        progress("evaluate", "ndcg@%d %.4f, recall@%d %.4f over %d users"
                 % (K, evaluation["ndcg@%d" % K], K, evaluation["recall@%d" % K], evaluation["users"]))

    sample = sample_users(indexed, model.userFactors, args.sample_users, args.seed) if args.sample_users else []

    out = open_exchange_dir(spark, args.out)
    out.remove("metadata.json")  # a rewritten directory is incomplete until the new one lands
    files = {"items": {"name": "items.tsv", "rows": len(items)}}
    out.write("items.tsv", table_bytes(items))
    blob, files["item_factors"] = factor_file("item_factors.f32", item_factors)
    out.write("item_factors.f32", blob)
    if sample:
        out.write("users.tsv", table_bytes([(user, records) for user, records, _ in sample]))
        files["users"] = {"name": "users.tsv", "rows": len(sample)}
        blob, files["user_factors"] = factor_file(
            "user_factors.f32", np.asarray([vector for _, _, vector in sample], dtype=np.float32))
        out.write("user_factors.f32", blob)
    else:  # no stale sample from an earlier run
        out.remove("users.tsv")
        out.remove("user_factors.f32")
    metadata = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "spark_version": spark.version,
        "created_at": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "hyperparameters": {
            "factors": args.factors, "regularization": args.regularization, "alpha": args.alpha,
            "iterations": args.iterations, "seed": args.seed, "implicit_prefs": True, "nonnegative": False,
        },
        "objective": "als-wr",
        "data": data,
        "files": files,
    }
    if evaluation is not None:
        metadata["evaluation"] = evaluation
    metadata["training_seconds"] = round(training_seconds, 3)
    checkpoints.drop()  # before metadata.json: a complete directory holds nothing else
    out.write_last("metadata.json", (json.dumps(metadata, indent=2) + "\n").encode("utf-8"))
    progress("write", "wrote %s: %d items, %d sampled users" % (args.out, len(items), len(sample)))


def main(argv=None):
    args = parse_args(argv)
    try:
        run(args)
    except JobError as error:
        error_line(one_line(error))
        sys.exit(1)
    except Exception:  # a bug: the whole traceback, but on stderr too
        error_line(traceback.format_exc())
        sys.exit(1)


if __name__ == "__main__":
    main()
