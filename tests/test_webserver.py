"""The Dagster UI loads the code location from workspace.yaml and serves the graph over GraphQL."""

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from graph_runs import stop_process_group

REPO_ROOT = Path(__file__).resolve().parent.parent
ASSET_NODES_QUERY = "{ assetNodes { assetKey { path } } }"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _graphql(port: int, query: str) -> dict:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql",
        data=json.dumps({"query": query}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)


def test_webserver_serves_the_asset_graph(tmp_path):
    port = _free_port()
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path), "JOURNEYLIFT_HOME": str(tmp_path / "home")}
    # The webserver is started by its full path without activating the venv, as a user would:
    # the code location must still find dbt (dbt_executable points into the venv).
    env["PATH"] = "/usr/bin:/bin"
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "dagster-webserver"), "-w", "workspace.yaml",
         "-h", "127.0.0.1", "-p", str(port)],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,  # the webserver ignores SIGINT in the background: stop its group
    )
    try:
        paths, deadline = None, time.monotonic() + 180
        while time.monotonic() < deadline:
            assert server.poll() is None, server.stderr.read().decode()[-3000:]
            try:
                reply = _graphql(port, ASSET_NODES_QUERY)
                nodes = (reply.get("data") or {}).get("assetNodes") or []
                if nodes:
                    paths = {"/".join(node["assetKey"]["path"]) for node in nodes}
                    break
            except OSError:
                pass
            time.sleep(2)
        assert paths, "the webserver never served the asset graph"
        assert {"raw/events", "marts/fct_journey_sequences_no_funnel", "models/lstm__no_funnel",
                "journeylift/counterfactual_effects"} <= paths
    finally:
        stop_process_group(server)
