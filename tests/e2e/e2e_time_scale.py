"""The emulator's ``--time-scale`` for the provider's rate limiter, in processes the tests start.

A test or benchmark whose emulator runs PostHog's windows faster sets :data:`TIME_SCALE_VARIABLE` in
the environment of the Airflow processes it starts; ``sitecustomize.py`` beside this module (on
their ``PYTHONPATH``) then installs a process rate limiter with the same scale when the interpreter
starts. The provider itself never reads the variable: against PostHog the windows are real.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

TIME_SCALE_VARIABLE = "POSTHOG_PROVIDER_TESTING_TIME_SCALE"


def install_scaled_limiter(environ: Mapping[str, str] = os.environ) -> float | None:
    """Install a process limiter with the scale in ``environ``, if it names one; return the scale.

    :param environ: the process's environment.
    """
    text = environ.get(TIME_SCALE_VARIABLE)
    if not text:
        return None
    from airflow_provider.api.ratelimit import RateLimiter, install_process_limiter

    scale = float(text)
    install_process_limiter(RateLimiter(time_scale=scale))
    return scale
