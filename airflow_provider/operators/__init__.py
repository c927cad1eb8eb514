"""The provider's operators, one module per PostHog API area.

``from airflow_provider.operators import PostHogSessionSummariesOperator`` works for every operator
below; each is imported on first access, so importing one operator loads only its own module.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from airflow_provider.lazy_exports import lazy_getattr

if TYPE_CHECKING:
    from airflow_provider.operators.saved_queries import (
        PostHogCreateOrUpdateSavedQueryOperator,
        PostHogDeleteSavedQueryOperator,
        PostHogMaterializeSavedQueryOperator,
        PostHogRevertSavedQueryMaterializationOperator,
        PostHogRunSavedQueryOperator,
    )
    from airflow_provider.operators.session_patterns import PostHogSessionPatternsOperator
    from airflow_provider.operators.session_summaries import PostHogSessionSummariesOperator
    from airflow_provider.operators.subscriptions import (
        PostHogCreateSubscriptionOperator,
        PostHogDeleteSubscriptionOperator,
        PostHogUpdateSubscriptionOperator,
    )
    from airflow_provider.operators.user_interviews import (
        PostHogCreateUserInterviewOperator,
        PostHogDeleteUserInterviewOperator,
        PostHogUpdateUserInterviewOperator,
    )

_MODULE_OF = {
    "PostHogCreateOrUpdateSavedQueryOperator": "saved_queries",
    "PostHogDeleteSavedQueryOperator": "saved_queries",
    "PostHogMaterializeSavedQueryOperator": "saved_queries",
    "PostHogRevertSavedQueryMaterializationOperator": "saved_queries",
    "PostHogRunSavedQueryOperator": "saved_queries",
    "PostHogSessionPatternsOperator": "session_patterns",
    "PostHogSessionSummariesOperator": "session_summaries",
    "PostHogCreateSubscriptionOperator": "subscriptions",
    "PostHogDeleteSubscriptionOperator": "subscriptions",
    "PostHogUpdateSubscriptionOperator": "subscriptions",
    "PostHogCreateUserInterviewOperator": "user_interviews",
    "PostHogDeleteUserInterviewOperator": "user_interviews",
    "PostHogUpdateUserInterviewOperator": "user_interviews",
}

__all__ = [
    "PostHogCreateOrUpdateSavedQueryOperator",
    "PostHogCreateSubscriptionOperator",
    "PostHogCreateUserInterviewOperator",
    "PostHogDeleteSavedQueryOperator",
    "PostHogDeleteSubscriptionOperator",
    "PostHogDeleteUserInterviewOperator",
    "PostHogMaterializeSavedQueryOperator",
    "PostHogRevertSavedQueryMaterializationOperator",
    "PostHogRunSavedQueryOperator",
    "PostHogSessionPatternsOperator",
    "PostHogSessionSummariesOperator",
    "PostHogUpdateSubscriptionOperator",
    "PostHogUpdateUserInterviewOperator",
]
__getattr__ = lazy_getattr(__name__, _MODULE_OF)
