"""Precision records: what was asked, what was used, and the CPU's measured bf16 speed when bf16 runs."""

import logging

import pytest

from polyret import hardware


@pytest.fixture
def cpu(monkeypatch):
    """A CPU with settable bf16 flags and benchmark; the once-per-process warning is reset."""
    state = {"flags": ["avx512_bf16"], "speedup": 0.55}
    monkeypatch.setattr(hardware, "native_bf16_flags", lambda: list(state["flags"]))
    monkeypatch.setattr(hardware, "cpu_bf16_benchmark", lambda use_cache=True: {
        "fp32_gflops": 230.0, "bf16_gflops": 230.0 * state["speedup"], "speedup": state["speedup"],
        "flags": list(state["flags"]), "cached": True})
    monkeypatch.setattr(hardware, "cpu_model", lambda: "Test CPU")
    hardware._warn_once.cache_clear()
    yield state
    hardware._warn_once.cache_clear()


def test_explicit_bf16_on_a_slow_cpu_is_kept_recorded_and_warned_once(cpu, caplog):
    with caplog.at_level(logging.WARNING, logger="polyret.hardware"):
        first = hardware.precision_record("bf16")
        hardware.precision_record("bf16")
    assert first["used"] == "bf16"
    assert first["cpu_bf16_flags"] == ["avx512_bf16"]
    assert first["benchmark"]["speedup"] == 0.55 and "cached" not in first["benchmark"]
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 1 and "0.55x fp32" in warnings[0] and "Test CPU" in warnings[0]


def test_emulated_bf16_is_named_as_such(cpu, caplog):
    cpu["flags"] = []
    with caplog.at_level(logging.WARNING, logger="polyret.hardware"):
        record = hardware.precision_record("bf16")
    assert record["cpu_bf16_flags"] == [] and "benchmark" not in record
    assert "emulated" in caplog.records[0].getMessage()


def test_fast_bf16_records_the_speed_without_a_warning(cpu, caplog):
    cpu["flags"], cpu["speedup"] = ["amx_bf16", "avx512_bf16"], 5.2
    with caplog.at_level(logging.WARNING, logger="polyret.hardware"):
        auto, explicit = hardware.precision_record("auto"), hardware.precision_record("bf16")
    assert auto["used"] == explicit["used"] == "bf16"
    assert explicit["benchmark"]["speedup"] == 5.2
    assert caplog.records == []


def test_auto_on_a_slow_cpu_chooses_fp32_and_says_why(cpu):
    record = hardware.precision_record("auto")
    assert record["used"] == "fp32" and record["benchmark"]["speedup"] == 0.55


def test_explicit_fp32_records_only_the_choice(cpu):
    assert hardware.precision_record("fp32") == {"requested": "fp32", "used": "fp32", "device": "cpu"}
