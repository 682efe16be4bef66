"""segloss_app.serve: the launcher scripts/run_app.sh and the browser tests use."""
from __future__ import annotations

import sys

import pytest


def test_serve_warms_up_then_runs_the_app_with_the_given_options(monkeypatch):
    from streamlit import net_util
    from streamlit.web import cli

    from segloss_app import serve
    seen = {}

    def fake_main():
        seen["argv"] = list(sys.argv)
        seen["torch"] = "torch" in sys.modules and "segloss_core.registry" in sys.modules
        seen["external_ip"] = net_util.get_external_ip()
        return 0

    monkeypatch.setattr(cli, "main", fake_main)
    monkeypatch.setattr(net_util, "get_external_ip", net_util.get_external_ip)  # restored afterwards
    monkeypatch.setattr(sys, "argv", list(sys.argv))
    monkeypatch.setattr(serve.gc, "freeze", lambda: seen.setdefault("frozen_before_run", "argv" not in seen))
    with pytest.raises(SystemExit) as exit_:
        serve.main(["--server.port", "8765", "--server.headless", "true"])
    assert exit_.value.code == 0
    assert seen["argv"] == ["streamlit", "run", str(serve.APP), "--server.port", "8765", "--server.headless", "true"]
    assert serve.APP.name == "app.py" and serve.APP.is_file()
    assert seen["torch"]  # imported before Streamlit starts
    assert seen["external_ip"] is None  # the public-address lookup never leaves the machine
    assert seen["frozen_before_run"]  # the libraries' objects frozen for the collector before the app runs


def test_warm_evaluates_a_loss():
    from segloss_app import serve
    assert serve.warm() >= 0.0
