"""Worker process for ``[python] isolation = process``: one JSON request per line on stdin,
one JSON response per line on the protocol pipe. Actions that print must not corrupt the
protocol, so the real stdin/stdout are kept for the protocol, file descriptor 1 is pointed at
stderr and 0 at /dev/null.
"""

import os
import sys

from mistral_rs_actions import handle


def main():
    proto = os.fdopen(os.dup(sys.stdout.fileno()), "w", encoding="utf-8")
    requests = os.fdopen(os.dup(sys.stdin.fileno()), "r", encoding="utf-8")
    sys.stdout.flush()
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, sys.stdin.fileno())
    for line in requests:
        line = line.strip()
        if not line:
            continue
        proto.write(handle(line) + "\n")
        proto.flush()


if __name__ == "__main__":
    main()
