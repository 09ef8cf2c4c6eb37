"""Comparison rules of the expression batch protocol (notes/batch.md).

compare(case, reference, ours) -> None when the two outcomes agree, otherwise a one-line
description of the mismatch.

* both succeeded: the results must be equal as JSON, compared through Python's json.dumps
  (so 2 and 2.0 differ, as do True and 1); dict key order is ignored unless the case's
  "note" mentions "order";
* both failed: the error kinds (syntax / no_function / evaluation / limit) must be equal;
* one failed and the other did not: mismatch.
"""
import json


def _canonical(value, keep_order):
    return json.dumps(value, sort_keys=not keep_order, ensure_ascii=False)


def _describe(outcome):
    if 'error' in outcome:
        return 'error %s (%s)' % (outcome.get('error'), outcome.get('message', ''))
    return 'result %s' % json.dumps(outcome.get('result'), ensure_ascii=False)


def compare(case, reference, ours):
    keep_order = 'order' in (case.get('note') or '').lower()
    ref_err = 'error' in reference
    our_err = 'error' in ours
    if ref_err and our_err:
        if reference['error'] == ours['error']:
            return None
    elif not ref_err and not our_err:
        if 'result' in reference and 'result' in ours and (
                _canonical(reference['result'], keep_order)
                == _canonical(ours['result'], keep_order)):
            return None
    return '%s: expr %r: reference %s, ours %s' % (
        case.get('id'), case.get('expr'), _describe(reference), _describe(ours))
