#!/usr/bin/env python3
"""Jinja evaluation speed: mistral-rs (minijinja) vs Python Jinja2 configured like Mistral.

Evaluates every case of the Jinja corpus files N times through
`mistral-rs eval --batch FILE --lang jinja --repeat N --time` and through the reference
evaluator (compat-tests/expressions/jinja_reference.py, imported in-process, so Python's
start-up is not counted), and prints the time per evaluation and the ratio.

Usage: bench/jinja_bench.py [--repeat N] [--bin PATH] [FILE ...]
       (defaults: 20 rounds, $MISTRAL_RS_BIN or target/release/mistral-rs, all jinja_*.jsonl)
"""
import argparse
import glob
import io
import json
import os
import subprocess
import sys
import time
from contextlib import redirect_stdout

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXPR_DIR = os.path.join(ROOT, 'compat-tests', 'expressions')
sys.path.insert(0, EXPR_DIR)

import jinja_reference  # noqa: E402


def bench_ours(binary, path, repeat):
    proc = subprocess.run(
        [binary, 'eval', '--batch', path, '--lang', 'jinja', '--repeat', str(repeat), '--time'],
        capture_output=True, text=True, check=True)
    stats = json.loads(proc.stderr.strip().splitlines()[-1])
    return stats['evaluations'], stats['seconds']


def bench_python(cases, repeat):
    start = time.perf_counter()
    with redirect_stdout(io.StringIO()):
        for _ in range(repeat):
            for case in cases:
                jinja_reference.run_case(case)
    return len(cases) * repeat, time.perf_counter() - start


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--repeat', type=int, default=20)
    ap.add_argument('--bin', default=os.environ.get(
        'MISTRAL_RS_BIN', os.path.join(ROOT, 'target', 'release', 'mistral-rs')))
    ap.add_argument('files', nargs='*')
    args = ap.parse_args()
    files = args.files or sorted(glob.glob(os.path.join(EXPR_DIR, 'jinja_*.jsonl')))
    total_ours = total_py = 0.0
    total_n = 0
    print('%-28s %8s %14s %14s %8s' % ('corpus', 'evals', 'ours us/eval', 'jinja2 us/eval', 'ratio'))
    for path in files:
        with open(path, encoding='utf-8') as fh:
            cases = [json.loads(line) for line in fh if line.strip()]
        n, ours = bench_ours(args.bin, path, args.repeat)
        n_py, py = bench_python(cases, args.repeat)
        total_ours += ours
        total_py += py
        total_n += n
        print('%-28s %8d %14.2f %14.2f %7.1fx' % (
            os.path.basename(path), n, ours * 1e6 / n, py * 1e6 / n_py, py / ours))
    if total_n:
        print('%-28s %8d %14.2f %14.2f %7.1fx' % (
            'total', total_n, total_ours * 1e6 / total_n, total_py * 1e6 / total_n,
            total_py / total_ours))


if __name__ == '__main__':
    main()
