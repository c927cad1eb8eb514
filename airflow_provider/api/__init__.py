"""PostHog API client: knows HTTP and PostHog, nothing of Airflow.

A sans-I/O core decides: what to send (:mod:`.request`, built by :mod:`.endpoints`), how to read
the answer (:mod:`.response`), when to retry (:mod:`.retry`, driven by :mod:`.exchange`), how lists
page (:mod:`.pagination`) and how fast to send (:mod:`.ratelimit`); the sync (``requests``) and
async (aiohttp) transports only send and sleep. Neither HTTP library is imported before the first
request.

Import each name from the module that defines it: the errors from :mod:`.errors`
(``PostHogConfigError``, ``PostHogAPIError``, ...), ``PostHogClient`` and ``AsyncPostHogClient`` from
:mod:`.client`, ``ClientConfig`` from :mod:`.config`, ``ApiCall`` and ``Paging`` from :mod:`.request`,
``RetryPolicy`` from :mod:`.retry`. This package re-exports nothing, so each class has one import path.
"""
