"""Provenance read from git: the code's commit under result-only commits, local changes, the fixing commit."""

import shutil
import subprocess

import pytest

from polyret.runner.provenance import code_commit, commit_fixing

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git not installed")


def _git(repo, *args) -> str:
    done = subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.org", *args], cwd=repo,
                          capture_output=True, text=True, check=True)
    return done.stdout.strip()


def _commit(repo, path: str, text: str, message: str) -> str:
    file = repo / path
    file.parent.mkdir(parents=True, exist_ok=True)
    file.write_text(text, encoding="utf-8")
    _git(repo, "add", path)
    _git(repo, "commit", "-q", "-m", message)
    return _git(repo, "rev-parse", "HEAD")


@pytest.fixture
def repo(tmp_path):
    _git(tmp_path, "init", "-q")
    return tmp_path


def test_code_commit_names_the_code_under_result_commits(repo):
    code = _commit(repo, "src/polyret/model.py", "x = 1\n", "code")
    results = _commit(repo, "docs/results/grid/cells/a/cell.json", "{}\n", "results")
    found = code_commit(repo / "src" / "polyret")  # asked from deep inside, as the installed package does
    assert found == {"commit": results, "dirty": False, "code_commit": code}
    config = _commit(repo, "configs/experiments/grid.yaml", "name: grid\n", "config")
    assert code_commit(repo / "docs")["code_commit"] == config  # anything outside docs/results is code


def test_code_commit_sees_local_changes_to_src_from_any_folder(repo):
    _commit(repo, "src/polyret/model.py", "x = 1\n", "code")
    (repo / "src" / "polyret" / "model.py").write_text("x = 2\n", encoding="utf-8")
    assert code_commit(repo / "src" / "polyret")["dirty"] is True
    assert code_commit(repo)["dirty"] is True


def test_code_commit_outside_git_is_none(tmp_path):
    assert code_commit(tmp_path) is None


def test_commit_fixing_reports_the_adding_commit_and_later_changes(repo):
    _commit(repo, "README.md", "hi\n", "readme")
    fixed = _commit(repo, "docs/prereg/grid.json", "{}\n", "pre-register")
    _commit(repo, "src/a.py", "y = 1\n", "later code")
    found = commit_fixing(repo / "docs" / "prereg" / "grid.json")
    assert found["commit"] == fixed and found["changed_since"] is False and found["date"]
    _commit(repo, "docs/prereg/grid.json", '{"changed": true}\n', "edit after scoring")
    assert commit_fixing(repo / "docs" / "prereg" / "grid.json")["changed_since"] is True
    (repo / "new.json").write_text("{}", encoding="utf-8")
    assert commit_fixing(repo / "new.json") == {"commit": None, "date": None, "changed_since": None}
