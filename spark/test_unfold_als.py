"""Unit tests of unfold_als.py's pure functions (no Spark session, no JVM):

    .build/spark-venv/bin/python -m unittest discover -s spark -p 'test_*.py'
"""

import contextlib
import io
import math
import os
import sys
import unittest

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import unfold_als as job  # noqa: E402
from unfold_als import Layout, LineError, POSITIONAL  # noqa: E402


class FormatTests(unittest.TestCase):
    def test_guess_format_from_name(self):
        cases = {
            "data/train.tsv": "tsv", "x.inter": "tsv", "hdfs:///logs/2024/": "tsv",
            "s3a://b/x.CSV": "csv", "x.csv.gz": "csv", "x.jsonl": "jsonl", "x.ndjson.gz": "jsonl",
            "x.json": "jsonl", "x.gz": "tsv",
        }
        for name, fmt in cases.items():
            self.assertEqual(job.guess_format(name), fmt, name)

    def test_split_fields(self):
        self.assertEqual(job.split_fields("a\tb\t", "tsv"), ["a", "b", ""])
        self.assertEqual(job.split_fields('"a",b,"",""c', "csv"), ["a", "b", "", '""c'])
        self.assertEqual(job.split_fields('"a"\t"b"', "tsv"), ['"a"', '"b"'])  # TSV keeps quotes


class HeaderTests(unittest.TestCase):
    def test_header_in_any_order(self):
        self.assertEqual(job.header_layout(["timestamp", "rating", "movie_id", "user_id"]), Layout(3, 2, 1, 0))
        self.assertEqual(job.header_layout(["User", " item "]), Layout(0, 1, None, None))

    def test_recbole_header(self):
        fields = ["user_id:token", "item_id:token", "rating:float", "timestamp:float"]
        self.assertEqual(job.header_layout(fields), Layout(0, 1, 2, 3))

    def test_not_a_header(self):
        self.assertIsNone(job.header_layout(["196", "242", "3"]))

    def test_header_without_item_column(self):
        with self.assertRaisesRegex(ValueError, "no item column"):
            job.header_layout(["user", "thing"])

    def test_decide_layout(self):
        self.assertEqual(job.decide_layout("196\t242\t3\r", "tsv"), (POSITIONAL, None))
        self.assertEqual(job.decide_layout('"item","user"\r', "csv"), (Layout(1, 0, None, None), '"item","user"'))


class DelimitedLineTests(unittest.TestCase):
    def parse(self, line, fmt="tsv", layout=POSITIONAL, header=None):
        return job.parse_line(line, fmt, layout, header)

    def test_records(self):
        self.assertEqual(self.parse("196\t242\t3\t881250949"), ("196", "242", 3.0))
        self.assertEqual(self.parse("u1\ti1"), ("u1", "i1", 1.0))  # weight defaults to 1
        self.assertEqual(self.parse("u1\ti1\t2.5\r"), ("u1", "i1", 2.5))
        self.assertEqual(self.parse('"u1","i1",1e2', "csv"), ("u1", "i1", 100.0))
        # No comma inside quotes, as in Unfold: the quotes stay on the split halves.
        self.assertEqual(self.parse('"u,1"', "csv", Layout(0, 1, None, None)), ('"u', '1"', 1.0))

    def test_skipped_lines(self):
        for line in ["", "\r", "# a comment", "#user\titem"]:
            self.assertIsNone(self.parse(line), repr(line))
        self.assertIsNone(self.parse("user\titem\r", layout=Layout(0, 1, None, None), header="user\titem"))

    def test_layout_from_header(self):
        layout = Layout(2, 0, 1, None)
        self.assertEqual(self.parse("i9,4,u7", "csv", layout), ("u7", "i9", 4.0))

    def test_bad_weights(self):
        for weight in ["x", "-1", "inf", "nan", " 2", "1_0", "1e39", "0x10", ""]:
            with self.assertRaisesRegex(LineError, "not a non-negative number", msg=repr(weight)):
                self.parse("u\ti\t" + weight)
        self.assertEqual(self.parse("u\ti\t0")[2], 0.0)
        self.assertEqual(self.parse("u\ti\t-0")[2], 0.0)

    def test_bad_lines(self):
        with self.assertRaisesRegex(LineError, "expected at least 2 tab-separated fields, found 1"):
            self.parse("u1 i1 3")
        with self.assertRaisesRegex(LineError, "comma-separated"):
            self.parse("u1", "csv")
        with self.assertRaisesRegex(LineError, "empty user or item id"):
            self.parse("\ti1")
        with self.assertRaisesRegex(LineError, "timestamp 'soon' is not a number"):
            self.parse("u\ti\t1\tsoon")
        with self.assertRaisesRegex(LineError, "tab or line break"):
            self.parse("u\tx,i", "csv")


class JSONLineTests(unittest.TestCase):
    def parse(self, line):
        return job.parse_line(line, "jsonl")

    def test_records(self):
        self.assertEqual(self.parse('{"user": "u1", "item": 42, "weight": 2.5}'), ("u1", "42", 2.5))
        self.assertEqual(self.parse('{"item": 42.0, "user": 7, "timestamp": 1700000000}'), ("7", "42", 1.0))
        self.assertEqual(self.parse('{"user": 1.5, "item": "x", "weight": 0}'), ("1.5", "x", 0.0))
        self.assertIsNone(self.parse(""))
        self.assertIsNone(self.parse('# {"user": 1}'))

    def test_bad_lines(self):
        cases = {
            "{not json": "not a JSON object",
            "[1, 2]": "not a JSON object",
            '{"item": 1}': 'missing "user"',
            '{"user": "", "item": 1}': '"user" must be a non-empty string or a number',
            '{"user": true, "item": 1}': '"user" must be a non-empty string or a number',
            '{"user": null, "item": 1}': '"user" must be a non-empty string or a number',
            '{"user": 1, "item": 1, "weight": -1}': '"weight" must be a non-negative number',
            '{"user": 1, "item": 1, "weight": "2"}': '"weight" must be a non-negative number',
            '{"user": 1, "item": 1, "weight": true}': '"weight" must be a non-negative number',
            '{"user": 1, "item": 1, "weight": NaN}': '"weight" must be a non-negative number',
            '{"user": 1, "item": 1, "weight": 1e39}': '"weight" must be a non-negative number',
            '{"user": 1, "item": 1, "timestamp": "now"}': '"timestamp" must be a number',
            '{"user": "a\\tb", "item": 1}': "tab or line break",
            '{"user": "\\ud800", "item": 1}': "not valid Unicode",
        }
        for line, reason in cases.items():
            with self.assertRaises(LineError, msg=line) as caught:
                self.parse(line)
            self.assertIn(reason, str(caught.exception), line)


class RowTests(unittest.TestCase):
    def test_parse_rows_marks_bad_lines(self):
        rows = [("f", "user\titem\tweight"), ("f", "u\ti\t2"), ("f", "u\ti\tbad"), ("f", ""), ("f", "x" * 300)]
        out = list(job.parse_rows(iter(rows), "tsv", Layout(0, 1, 2, None), "user\titem\tweight"))
        self.assertEqual(out[0], ("u", "i", 2.0, None, None, None))
        self.assertEqual(out[1][:5], (None, None, None, "f", "u\ti\tbad"))
        self.assertIn("weight 'bad'", out[1][5])
        self.assertEqual(len(out[2][4]), 203)  # a long bad line is shortened
        self.assertEqual(len(out), 3)

    def test_fingerprint(self):
        self.assertEqual(job.fingerprint(3, (1 << 64) + 255), "0000000000000003" "00000000000000ff")


class MetricTests(unittest.TestCase):
    def test_top_k_orders_and_skips_excluded(self):
        scores = np.array([0.5, -np.inf, 2.0, 0.5, 1.0], dtype=np.float32)
        self.assertEqual(job.top_k(scores, 3).tolist(), [2, 4, 0])
        self.assertEqual(job.top_k(scores, 10).tolist(), [2, 4, 0, 3])

    def test_ndcg_recall(self):
        ndcg, recall = job.ndcg_recall([5, 1, 7], {1, 9}, 10)
        self.assertAlmostEqual(ndcg, (1 / math.log2(3)) / (1 + 1 / math.log2(3)))
        self.assertEqual(recall, 0.5)
        # Ideal DCG is capped at k; recall divides by every relevant item (Unfold's definition).
        ndcg, recall = job.ndcg_recall([0, 1], set(range(20)), 2)
        self.assertEqual((ndcg, recall), (1.0, 0.1))
        self.assertEqual(job.ndcg_recall([3, 4], {9}, 2), (0.0, 0.0))

    def test_score_users_excludes_training_items(self):
        items = np.eye(3, dtype=np.float32)
        rows = [([1.0, 0.9, 0.1], [0], [1]), ([0.0, 0.0, 1.0], [], [0, 1])]
        out = list(job.score_users(iter(rows), items, 1))
        self.assertEqual(out, [(1.0, 1.0, 1), (0.0, 0.0, 1)])


class ArgumentTests(unittest.TestCase):
    def test_defaults(self):
        args = job.parse_args(["--data", "d", "--out", "o"])
        self.assertEqual((args.factors, args.regularization, args.alpha, args.iterations, args.seed, args.sample_users),
                         (64, 0.1, 1.0, 15, 42, 300))
        self.assertEqual((args.format, args.partitions, args.test, args.skip_bad_lines), ("auto", None, None, False))

    def test_bad_arguments_exit_2_with_one_line(self):
        for argv in (["--out", "o"], ["--data", "d", "--out", "o", "--factors", "0"],
                     ["--data", "d", "--out", "o", "--alpha", "nan"], ["--data", "d", "--out", "o", "--format", "xml"]):
            stderr = io.StringIO()
            with contextlib.redirect_stderr(stderr), self.assertRaises(SystemExit) as caught:
                job.parse_args(argv)
            self.assertEqual(caught.exception.code, 2)
            self.assertEqual(stderr.getvalue().count("\n"), 1, stderr.getvalue())


if __name__ == "__main__":
    unittest.main()
