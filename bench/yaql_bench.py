#!/usr/bin/env python3
"""YAQL evaluation speed: our interpreter (release `yaql-batch` example) vs Python yaql
configured as Mistral 23.0.0 configures it.

Usage: python bench/yaql_bench.py [--repeat N] [--python PYTHON]

* corpus: every case of compat-tests/expressions/yaql_*.jsonl evaluated N times by both
  (Python: parse + evaluate per evaluation, as Mistral does; ours: parse cache on);
* hot: one cached expression (`$.a + 1` on {"a": 1}) evaluated many times.
Prints per-evaluation times and the speed ratio. PYTHON must have yaql installed
(compat-tests/requirements-expressions.txt); default: the current interpreter.
"""
import argparse
import glob
import json
import os
import re
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BATCH = os.path.join(ROOT, "target", "release", "examples", "yaql-batch")

PY_BENCH = r'''
import json, sys, time
sys.path.insert(0, %(refdir)r)
import yaql_reference as ref
cases = [json.loads(l) for f in %(files)r for l in open(f, encoding="utf-8") if l.strip()]
cases = [c for c in cases if "recursion" not in c.get("note", "")]
repeat = %(repeat)d
t0 = time.perf_counter()
n = 0
for c in cases:
    for _ in range(repeat):
        ref.evaluate(c["expr"], c["context"])
        n += 1
corpus = (time.perf_counter() - t0) / n
hot_n = %(hot_n)d
t0 = time.perf_counter()
for _ in range(hot_n):
    ref.evaluate("$.a + 1", {"a": 1})
hot_parse = (time.perf_counter() - t0) / hot_n
parsed = ref.ENGINE("$.a + 1")
t0 = time.perf_counter()
for _ in range(hot_n):
    parsed.evaluate(context=ref._context({"a": 1}))
hot_cached = (time.perf_counter() - t0) / hot_n
print(json.dumps({"corpus": corpus, "n": n, "hot_parse": hot_parse, "hot_cached": hot_cached}))
'''


def run_ours(path, repeat):
    p = subprocess.run([BATCH, "--repeat", str(repeat), "--time", path],
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, check=True)
    m = re.search(r"evaluations: (\d+), total: ([\d.]+) s, per evaluation: ([\d.]+) us", p.stderr)
    return int(m.group(1)), float(m.group(2))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--hot", type=int, default=200000)
    ap.add_argument("--python", default=sys.executable)
    args = ap.parse_args()

    subprocess.run(["cargo", "build", "--release", "-q", "-p", "yaql", "--example", "yaql-batch"],
                   cwd=ROOT, check=True)
    files = sorted(glob.glob(os.path.join(ROOT, "compat-tests", "expressions", "yaql_*.jsonl")))
    with tempfile.TemporaryDirectory() as tmp:
        corpus = os.path.join(tmp, "corpus.jsonl")
        with open(corpus, "w", encoding="utf-8") as out:
            for f in files:
                for line in open(f, encoding="utf-8"):
                    if line.strip() and "recursion" not in json.loads(line).get("note", ""):
                        out.write(line)
        n_ours, t_ours = run_ours(corpus, args.repeat)
        hot = os.path.join(tmp, "hot.jsonl")
        with open(hot, "w") as out:
            out.write(json.dumps({"id": "hot", "expr": "$.a + 1", "context": {"a": 1}}) + "\n")
        n_hot, t_hot = run_ours(hot, args.hot)

    code = PY_BENCH % {"refdir": os.path.join(ROOT, "compat-tests", "expressions"), "files": files,
                       "repeat": args.repeat, "hot_n": max(args.hot // 20, 1000)}
    p = subprocess.run([args.python, "-c", code], stdout=subprocess.PIPE, text=True, check=True)
    py = json.loads(p.stdout.strip().splitlines()[-1])

    ours_corpus = t_ours / n_ours
    ours_hot = t_hot / n_hot
    print("corpus: %d evaluations" % n_ours)
    print("  ours:   %8.2f us / evaluation" % (ours_corpus * 1e6))
    print("  python: %8.2f us / evaluation (parse + evaluate, as Mistral does)" % (py["corpus"] * 1e6))
    print("  ratio:  %8.1fx" % (py["corpus"] / ours_corpus))
    print("hot cached expression `$.a + 1`: %d evaluations" % n_hot)
    print("  ours:   %8.3f us / evaluation" % (ours_hot * 1e6))
    print("  python: %8.2f us / evaluation (parse + evaluate), %.2f us (pre-parsed)" % (
        py["hot_parse"] * 1e6, py["hot_cached"] * 1e6))
    print("  ratio:  %8.1fx (vs parse + evaluate), %.1fx (vs pre-parsed)" % (
        py["hot_parse"] / ours_hot, py["hot_cached"] / ours_hot))


if __name__ == "__main__":
    main()
