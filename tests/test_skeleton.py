"""The package installs, the CLI answers --help, and the tiny encoder embeds."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch

from polyret.modeling.pooling import pool


def test_cli_help_lists_every_installed_command_in_order():
    import importlib.util

    from polyret.cli import COMMANDS

    out = subprocess.run([sys.executable, "-m", "polyret", "--help"], capture_output=True,
                         text=True, check=True).stdout
    installed = [c for c in COMMANDS if importlib.util.find_spec(f"polyret.cli.{c}") is not None]
    assert {"data", "embed", "search", "train", "evaluate"} <= set(installed)
    listed = [line.split()[0] for line in out.splitlines() if line.startswith("    ") and line[4:5].isalpha()]
    assert [c for c in listed if c in COMMANDS] == installed, out


def test_mean_pool_ignores_padding():
    hidden = torch.tensor([[[1.0, 1.0], [3.0, 3.0], [100.0, 100.0]]])  # (1, 3, 2)
    mask = torch.tensor([[1, 1, 0]])
    assert torch.allclose(pool(hidden, mask, "mean"), torch.tensor([[2.0, 2.0]]))
    assert torch.allclose(pool(hidden, mask, "cls"), torch.tensor([[1.0, 1.0]]))
    with pytest.raises(ValueError, match="unknown pooling"):
        pool(hidden, mask, "max")


def test_tiny_encoder_normalised_and_batch_invariant(tiny_model):
    texts = ["the capital of france", "paris", "blue sky and green tree"]
    a = tiny_model.encode(texts, side="passage", batch_size=1)
    b = tiny_model.encode(texts, side="passage", batch_size=3)
    assert a.shape == (3, 32)
    np.testing.assert_allclose(np.linalg.norm(a, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(a, b, atol=1e-5)


def test_cli_hides_library_debug_logs_without_verbose(tmp_path):
    """bm25s sets its logger to DEBUG; the CLI's handler still prints WARNING and up only."""
    code = (
        "import logging, sys; from polyret.cli import main; "
        "logging.getLogger('noisy').setLevel(logging.DEBUG); "
        "sys.exit(main(['data', 'list']) or logging.getLogger('noisy').debug('LIBDEBUG') or 0)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "LIBDEBUG" not in proc.stderr
