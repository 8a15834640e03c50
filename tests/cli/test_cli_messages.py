"""What the command line tells a researcher: defaults, notes, warnings, progress, suggestions, the end."""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import pytest
import yaml

from polyret.cli import build_parser, main, summarised_warnings
from polyret.modeling.encoder import TruncationWarning
from polyret.modeling.registry import ModelNotFoundError, resolve_model_path
from polyret.modeling.st_format import MaxLengthWarning
from polyret.progress import plain_lines_unless_tty

REPO = Path(__file__).resolve().parents[2]


def precision_default(command: str) -> str:
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command").choices[command]  # noqa: SLF001
    return next(a.default for a in sub._actions if a.dest == "precision")  # noqa: SLF001


def test_evaluate_defaults_to_auto_precision_like_embed_and_search():
    assert precision_default("evaluate") == "auto"
    assert precision_default("evaluate") == precision_default("embed") == precision_default("search")
    args = build_parser().parse_args(["evaluate", "--model", "m", "--task", "beir/scifact"])
    assert args.precision == "auto"


def test_plan_without_out_says_it_has_nothing_to_compare_with(monkeypatch, capsys):
    import polyret.runner.plan as plan

    seen = []
    monkeypatch.setattr(plan, "format_plan", lambda spec, cells, layout, **kw: seen.append(layout) or "PLAN")
    config = str(REPO / "configs" / "experiments" / "demo.yaml")
    assert main(["experiment", "plan", config, "--no-measure"]) == 0
    out = capsys.readouterr().out
    assert seen == [None] and out.startswith("PLAN\n") and "no --out folder given" in out
    assert main(["experiment", "plan", config, "--no-measure", "--out", "somewhere"]) == 0
    assert "no --out folder given" not in capsys.readouterr().out


def test_unactionable_warnings_become_one_summary_line(capsys):
    with summarised_warnings(0):
        for n in range(5):
            warnings.warn(f"{n + 1} of 10 query texts were longer than 64 tokens", TruncationWarning,
                          stacklevel=1)
        warnings.warn("sentence-transformers truncates ...", MaxLengthWarning, stacklevel=1)
        warnings.warn("something a user can act on", UserWarning, stacklevel=1)
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert "polyret: warning: something a user can act on (UserWarning)" in lines
    assert sum("truncated" in line for line in lines) == 1 and "(5 warning(s)" in err
    assert sum("max_seq_length" in line for line in lines) == 1
    assert "warnings.warn(" not in err and "test_cli_messages.py" not in err  # no echoed source line
    assert len(lines) == 3


def test_verbose_keeps_every_warning(recwarn):
    with summarised_warnings(1):
        warnings.warn("kept", TruncationWarning, stacklevel=1)
    assert [str(w.message) for w in recwarn] == ["kept"]


def test_progress_off_a_terminal_is_plain_lines(monkeypatch):
    import polyret.progress as progress

    monkeypatch.setattr(progress, "LINE_INTERVAL_S", 0.0)
    buf = io.StringIO()
    with plain_lines_unless_tty(buf) as plain:
        from tqdm.auto import tqdm

        outer = tqdm(total=2, desc="cells", file=buf, position=0)
        for _ in range(2):
            inner = tqdm(total=3, desc="train", file=buf, position=1, leave=False)
            for _ in range(3):
                inner.update(1)
            inner.close()
            outer.update(1)
        outer.close()
    text = buf.getvalue()
    assert plain and "\r" not in text and "\x1b" not in text
    assert "cells: 2/2" in text and "train: 3/3" in text
    from tqdm.auto import tqdm as restored

    assert restored.__name__ != "LineProgress"


def test_progress_on_a_terminal_keeps_tqdm():
    class Tty(io.StringIO):
        def isatty(self):
            return True

    with plain_lines_unless_tty(Tty()) as plain:
        from tqdm.auto import tqdm

        assert not plain and tqdm.__name__ != "LineProgress"


def test_unknown_model_lists_the_valid_names_and_suggests_one(monkeypatch, capsys):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelNotFoundError) as err:
        resolve_model_path("multilingual-e5-smal")
    text = str(err.value)
    assert "multilingual-e5-small" in text and "all-MiniLM-L6-v2" in text
    assert "did you mean 'multilingual-e5-small'?" in text
    with pytest.raises(ModelNotFoundError, match="did you mean"):
        resolve_model_path("./multilingual-e5-smal")
    with pytest.raises(ModelNotFoundError) as far:
        resolve_model_path("bert-base-uncased")
    assert "did you mean" not in str(far.value)


def test_trained_model_card_names_the_model_and_its_recipe(tmp_path):
    from tests.training.test_trainer import write_config  # noqa: I001 - the trainer tests' tiny config

    from polyret.config import load_config
    from polyret.training.trainer import train

    out = tmp_path / "hybrid-a05"
    cfg = load_config(write_config(tmp_path, out, max_steps=3, eval_every=0, save_every=0))
    train(cfg)
    card = (out / "README.md").read_text(encoding="utf-8")
    assert card.startswith("---\n") and "\n# hybrid-a05\n" in card
    assert "fine-tuned with polyret from tiny (hybrid (alpha = 0.5" in card
    assert "| steps | 3 |" in card and "| batch size | 8 |" in card and "| saved |" in card
    assert "https://github.com/)" not in card and "](http" not in card
    assert yaml.safe_load(card.split("---")[1])["library_name"] == "sentence-transformers"
