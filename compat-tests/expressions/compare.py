#!/usr/bin/env python3
"""Compare two batch-protocol outputs (reference vs ours).

Usage: python compare.py REF.jsonl OURS.jsonl [CORPUS.jsonl]

Rules (compat-tests/expressions protocol):
* results must be equal as JSON values, type-strict (1 != 1.0 != true), dict key order
  ignored unless the case's note says "order matters"; list order is ignored when the
  reference line carries "unordered": true (the Python result held a set) or the note
  contains "unordered";
* errors must match in kind; a reference RecursionError ("maximum recursion depth") counts
  as the same failure as our "limit".

Importable: ``compare(ref_lines, our_lines, notes=None) -> list of mismatch strings``.
"""
import json
import sys


def _canon(v, ordered_dicts=False, unordered_lists=False):
    """A hashable, type-strict canonical form of a JSON value."""
    if isinstance(v, bool):
        return ("b", v)
    if isinstance(v, int):
        return ("i", v)
    if isinstance(v, float):
        return ("f", v)
    if v is None:
        return ("n",)
    if isinstance(v, str):
        return ("s", v)
    if isinstance(v, list):
        items = [_canon(x, ordered_dicts, unordered_lists) for x in v]
        if unordered_lists:
            return ("l", tuple(sorted(items, key=repr)))
        return ("l", tuple(items))
    if isinstance(v, dict):
        items = [(k, _canon(x, ordered_dicts, unordered_lists)) for k, x in v.items()]
        if not ordered_dicts:
            items = sorted(items, key=lambda kv: kv[0])
        return ("d", tuple(items))
    return ("?", repr(v))


def _load(lines):
    out = []
    for line in lines:
        if isinstance(line, (dict,)):
            out.append(line)
            continue
        line = line.strip()
        if line:
            out.append(json.loads(line))
    return out


def _is_recursion(rec):
    return rec.get("error") == "evaluation" and "recursion" in rec.get("message", "")


KNOWN_PREFIX = "known difference"


def compare(ref_lines, our_lines, notes=None, known=None):
    """Returns a list of human-readable mismatch descriptions (empty when all agree).

    ``notes`` optionally maps case id -> note text (from the corpus file). Cases whose note
    starts with "known difference" are documented, accepted divergences: their mismatches
    go to the ``known`` list (when given) instead of the result."""
    notes = notes or {}
    ref = _load(ref_lines)
    ours = {r.get("id"): r for r in _load(our_lines)}
    problems = []
    seen = set()
    all_problems = problems
    for r in ref:
        cid = r.get("id")
        seen.add(cid)
        note = notes.get(cid, "") or ""
        if note.startswith(KNOWN_PREFIX):
            problems = known if known is not None else []
        else:
            problems = all_problems
        o = ours.get(cid)
        if o is None:
            problems.append("%s: missing from our output" % cid)
            continue
        ordered = "order matters" in note
        unordered = "unordered" in note or bool(r.get("unordered"))
        if "error" in r:
            if "error" not in o:
                problems.append("%s: expected error %s (%s), got result %s" % (
                    cid, r["error"], r.get("message", ""), json.dumps(o.get("result"))[:300]))
            elif r["error"] != o["error"] and not (
                    _is_recursion(r) and o["error"] == "limit"):
                problems.append("%s: expected error %s (%s), got error %s (%s)" % (
                    cid, r["error"], r.get("message", ""), o["error"], o.get("message", "")))
            continue
        if "error" in o:
            problems.append("%s: expected result %s, got error %s (%s)" % (
                cid, json.dumps(r.get("result"))[:300], o["error"], o.get("message", "")))
            continue
        if _canon(r.get("result"), ordered, unordered) != _canon(o.get("result"), ordered, unordered):
            problems.append("%s: expected %s, got %s" % (
                cid, json.dumps(r.get("result"))[:300], json.dumps(o.get("result"))[:300]))
    for cid in ours:
        if cid not in seen:
            all_problems.append("%s: not in the reference output" % cid)
    return all_problems


def load_notes(corpus_path):
    notes = {}
    with open(corpus_path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if line:
                c = json.loads(line)
                notes[c["id"]] = c.get("note", "")
    return notes


def main(argv):
    if len(argv) < 3:
        print(__doc__)
        return 2
    with open(argv[1], encoding="utf-8") as f:
        ref = f.readlines()
    with open(argv[2], encoding="utf-8") as f:
        ours = f.readlines()
    notes = load_notes(argv[3]) if len(argv) > 3 else {}
    known = []
    problems = compare(ref, ours, notes, known)
    for p in known:
        print("known: " + p)
    for p in problems:
        print(p)
    total = len(_load(ref))
    print("%d cases, %d mismatches, %d known differences" % (total, len(problems), len(known)))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
