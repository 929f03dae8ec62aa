"""``chalice local`` with a listen backlog that survives concurrent clients: what the local stack runs as its API.

    python scripts/local_api.py --no-autoreload --stage local --host 127.0.0.1 --port 8000

Exactly ``chalice local`` (same CLI, options, stage config and environment, same request handling), with one
change: chalice's ``ThreadedHTTPServer`` inherits ``socketserver.TCPServer.request_queue_size = 5``, the
``listen()`` backlog. At 20 concurrent clients the accept queue overflows, the kernel drops SYNs and those clients
wait for a retransmit (1 s, then 3 s): reads at concurrency 20 showed p95 ~1 s. ``request_queue_size`` is the
documented knob for this (the kernel still caps it at ``net.core.somaxconn``). API Gateway has no such limit, so
this only removes a local artefact. Measured in docs/benchmarks.md ("Local read path").
"""

from __future__ import annotations

import sys

from chalice import local
from chalice.cli import main

BACKLOG = 1024

if __name__ == "__main__":
    local.ThreadedHTTPServer.request_queue_size = BACKLOG
    sys.argv = ["chalice", "local", *sys.argv[1:]]
    sys.exit(main())
