#!/usr/bin/env python3
"""Runs the workflow conformance cases (run.py) against a running mistral-rs and compares the
failures with known_failing.txt.

    python3 conformance/check.py BASE_URL [--jobs N]

Exit 0 when every failing case is listed as known (listed cases that pass are reported as
"now passing" so the list can be trimmed); exit 1 when an unlisted case fails or the runner
could not run.
"""
import argparse
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def load_known(path):
    known = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith('#'):
                continue
            name, _, reason = line.partition(' ')
            known[name] = reason.strip()
    return known


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('base_url')
    ap.add_argument('--jobs', default='2')
    ap.add_argument('--known', default=os.path.join(HERE, 'known_failing.txt'))
    args = ap.parse_args()
    known = load_known(args.known)
    cases = sorted(f[:-5] for f in os.listdir(os.path.join(HERE, 'cases'))
                   if f.endswith('.json'))
    proc = subprocess.run(
        [sys.executable, os.path.join(HERE, 'run.py'), args.base_url, '--jobs', args.jobs],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    out = proc.stdout
    summary = re.search(r'conformance: (\d+) passed, (\d+) failed', out)
    if not summary:
        print(out)
        print('conformance runner did not finish (exit %d)' % proc.returncode)
        return 1
    failed = {}
    for line in out.splitlines():
        m = re.match(r'FAIL ([^:\s]+): (.*)', line)
        if m:
            failed[m.group(1)] = m.group(2)
    unexpected = sorted(n for n in failed if n not in known)
    now_passing = sorted(n for n in known if n in cases and n not in failed)
    stale = sorted(n for n in known if n not in cases)
    for n in unexpected:
        print('UNEXPECTED FAIL %s: %s' % (n, failed[n][:600]))
    for n in sorted(n for n in failed if n in known):
        print('known failure %s (%s)' % (n, known[n]))
    for n in now_passing:
        print('NOW PASSING %s: remove it from %s' % (n, os.path.basename(args.known)))
    for n in stale:
        print('unknown case in %s: %s' % (os.path.basename(args.known), n))
    print('conformance: %s passed, %s failed (%d known, %d unexpected, %d now passing)' % (
        summary.group(1), summary.group(2), len(failed) - len(unexpected), len(unexpected),
        len(now_passing)))
    return 1 if unexpected else 0


if __name__ == '__main__':
    sys.exit(main())
