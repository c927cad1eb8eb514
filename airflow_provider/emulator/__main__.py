"""``python -m airflow_provider.emulator --port 8010 --seed demo``."""

from __future__ import annotations

import sys

from .cli import main

sys.exit(main())
