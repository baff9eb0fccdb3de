"""Whether a core is free for a worker: our own busy threads must not count as other work.

jiuzhu runs on Debian (README): /proc is there, and these tests read it."""

from __future__ import annotations

import os
import time

import pytest

from core import machine


@pytest.fixture(autouse=True)
def fresh_samples(monkeypatch):
    monkeypatch.setattr(machine, "_SAMPLES", type(machine._SAMPLES)())


def _burn(seconds: float) -> None:
    end = time.process_time() + seconds
    while time.process_time() < end:
        pass


def test_our_own_cpu_is_measured_over_the_last_window():
    start = time.monotonic()
    machine.own_cpu_rate(now=start)
    _burn(0.6)
    rate = machine.own_cpu_rate(now=start + 1.2)  # 0.6 s of CPU in 1.2 s of (stated) time
    assert 0.35 <= rate <= 0.75, rate
    # a minute later with nothing burnt, the window starts at the second sample: the rate is ~0
    assert machine.own_cpu_rate(now=start + 1.2 + machine.WINDOW_S + 1) < 0.1


def test_a_core_is_free_when_the_load_is_our_own(monkeypatch):
    cores = os.cpu_count() or 1
    monkeypatch.setattr(machine, "own_cpu_rate", lambda children=(): 1.8)
    monkeypatch.setattr(os, "getloadavg", lambda: (2.0, 2.0, 2.0))  # our cycle busy on two threads
    assert machine.others_load() == pytest.approx(0.2)
    assert machine.core_free() is (cores >= 2)
    monkeypatch.setattr(os, "getloadavg", lambda: (cores + 1.9, 5.0, 5.0))  # others keep every core busy
    assert machine.core_free() is False
    monkeypatch.setattr(machine, "own_cpu_rate", lambda children=(): 3.0)
    monkeypatch.setattr(os, "getloadavg", lambda: (1.0, 1.0, 1.0))  # never below nothing
    assert machine.others_load() == 0.0


def test_cpu_seconds_of_a_process_that_is_gone_is_none():
    assert machine.cpu_seconds(2**22 + 12345) is None
