"""Re-export of :mod:`airflow_provider.validation`, where the argument checks live.

Kept for the modules that still import the checks from here; import them from
``airflow_provider.validation`` instead, which does not load every operator.
"""

from __future__ import annotations

from airflow_provider.validation import (
    is_unrendered,
    require_choice,
    require_datetime,
    require_int,
    require_str_list,
    require_text,
)

__all__ = [
    "is_unrendered",
    "require_choice",
    "require_datetime",
    "require_int",
    "require_str_list",
    "require_text",
]
