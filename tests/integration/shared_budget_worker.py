"""One process drawing on a shared rate budget: ``python shared_budget_worker.py <store url> <count> <out>``.

It reserves ``count`` slots in the default bucket of one key through
:class:`~airflow_provider.api.shared_budget.StoreRateLimiter`, sleeping as told like a client does,
and writes the wall-clock times it would have sent at (JSON) to ``<out>``. Not a test module:
``test_shared_budget.py`` starts two of these at once.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from airflow_provider.api.ratelimit import Bucket
from airflow_provider.api.shared_budget import StoreRateLimiter

#: A small bucket so the test is quick: 5 requests per 2 seconds.
BUCKET = Bucket(("fingerprint", "https://us.posthog.com", "default"), ((5, 2.0),))


def main() -> None:
    url, count, out = sys.argv[1], int(sys.argv[2]), Path(sys.argv[3])
    limiter = StoreRateLimiter(url)
    sent = []
    for _ in range(count):
        time.sleep(limiter.reserve([BUCKET]))
        sent.append(time.time())
    out.write_text(json.dumps(sent))


if __name__ == "__main__":
    main()
