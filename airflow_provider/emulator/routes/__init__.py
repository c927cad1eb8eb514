"""HTTP routes, one module per PostHog API area plus the ``/_emulator`` control API."""
