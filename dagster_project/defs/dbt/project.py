"""The dbt project, loaded once from its prepared manifest.

`make` runs `dagster-dbt project prepare-and-package --file` on this file, so a
code location load never parses the project; `dagster dev` re-parses it.
"""

from dagster_dbt import DbtProject

from dagster_project.settings import DBT_PROJECT_DIR, journeylift_home

journeylift_home()  # make JOURNEYLIFT_HOME absolute before dbt reads it from the environment

journeylift_dbt = DbtProject(
    project_dir=DBT_PROJECT_DIR,
    profiles_dir=DBT_PROJECT_DIR,
)
journeylift_dbt.prepare_if_dev()
