"""The provider's operators, one module per PostHog API area."""

from __future__ import annotations

from airflow_provider.operators.saved_queries import (
    PostHogCreateOrUpdateSavedQueryOperator,
    PostHogDeleteSavedQueryOperator,
    PostHogMaterializeSavedQueryOperator,
    PostHogRevertSavedQueryMaterializationOperator,
    PostHogRunSavedQueryOperator,
)
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
    "PostHogSessionSummariesOperator",
    "PostHogUpdateSubscriptionOperator",
    "PostHogUpdateUserInterviewOperator",
]
