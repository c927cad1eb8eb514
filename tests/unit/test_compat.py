"""``airflow_provider._compat`` takes each moved name from its home on the running Airflow line.

The matrix (``make matrix``) runs this file on Airflow 3.1, 3.2 and 3.3, so each branch is checked
on the line that needs it.
"""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest
from airflow import __version__ as airflow_version
from packaging.version import Version

import airflow_provider._compat as compat

ON_3_2_PLUS = Version(Version(airflow_version).base_version) >= Version("3.2")
#: name -> (home on 3.2 and newer, home on 3.1)
HOMES = {
    "conf": ("airflow.sdk.configuration", "airflow.configuration"),
    "AirflowFailException": ("airflow.sdk.exceptions", "airflow.exceptions"),
    "AirflowRescheduleException": ("airflow.sdk.exceptions", "airflow.exceptions"),
    "AirflowSensorTimeout": ("airflow.sdk.exceptions", "airflow.exceptions"),
    "TaskDeferred": ("airflow.sdk.exceptions", "airflow.exceptions"),
    "CronDataIntervalTimetable": ("airflow.sdk", "airflow.timetables.interval"),
    "TaskInstanceKey": ("airflow.sdk.types", "airflow.models.taskinstancekey"),
    "DagBag": ("airflow.dag_processing.dagbag", "airflow.models.dagbag"),
    "sync_bag_to_db": ("airflow.dag_processing.dagbag", "airflow.models.dagbag"),
    "serialize": ("airflow.sdk.serde", "airflow.serialization.serde"),
    "deserialize": ("airflow.sdk.serde", "airflow.serialization.serde"),
}


def test_the_version_flags_match_the_installed_airflow() -> None:
    assert compat.AIRFLOW_V_3_2_PLUS is ON_3_2_PLUS
    assert str(compat.AIRFLOW_VERSION) == Version(airflow_version).base_version


@pytest.mark.parametrize("name", sorted(HOMES))
def test_each_name_is_the_one_of_its_home_on_this_line(name: str) -> None:
    newer, older = HOMES[name]
    home = importlib.import_module(newer if ON_3_2_PLUS else older)
    assert getattr(compat, name) is getattr(home, name)
    assert name in compat.__all__


def test_names_are_imported_only_when_first_used() -> None:
    # An operator and the sensor need neither croniter (CronDataIntervalTimetable) nor the DAG processor.
    probe = (
        "import sys\n"
        "from airflow_provider.operators.subscriptions import PostHogCreateSubscriptionOperator\n"
        "from airflow_provider.sensors.saved_queries import PostHogSavedQuerySensor\n"
        "import airflow_provider._compat as c\n"
        "homes = ('croniter', 'airflow.dag_processing.dagbag', 'airflow.models.dagbag')\n"
        "heavy = [m for m in homes if m in sys.modules]\n"
        "assert not heavy, heavy\n"
        "c.DagBag\n"
        "assert c.home_of('DagBag') in sys.modules\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], check=False, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-2000:]


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'CronTriggerTimetable'"):
        compat.CronTriggerTimetable  # noqa: B018
