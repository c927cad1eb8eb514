"""Run by every interpreter with this folder on its ``PYTHONPATH`` (the e2e stack's processes).

Installs the emulator's time scale in the provider's rate limiter when the environment asks for it
(``e2e_time_scale.py``); does nothing otherwise.
"""

from e2e_time_scale import install_scaled_limiter

install_scaled_limiter()
