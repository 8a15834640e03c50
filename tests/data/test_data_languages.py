from __future__ import annotations

import pytest

from polyret.data.errors import DataFormatError
from polyret.data.languages import LANGUAGES, check_language, is_language, language_name

DATA_LANGS = "ar bn da de el en es fa fi fr hi id it ja ko ro ru sw te th tr vi yo zh".split()


def test_every_language_of_the_data_is_known():
    assert all(is_language(code) for code in DATA_LANGS)
    assert len(LANGUAGES) >= 90 and all(len(c) == 2 and c.islower() for c in LANGUAGES)
    assert language_name("sw") == "Swahili"


def test_unknown_code_without_file_is_a_value_error_with_hint():
    with pytest.raises(ValueError, match="unknown language code 'EN' \\(did you mean 'en'\\?\\)"):
        check_language("EN")
    with pytest.raises(ValueError, match="two-letter ISO 639-1"):
        check_language("zh-CN")


def test_unknown_code_with_file_names_file_and_line(tmp_path):
    with pytest.raises(DataFormatError, match=r"x\.tsv:7: unknown language code 'xx'") as e:
        check_language("xx", tmp_path / "x.tsv", 7)
    assert e.value.line == 7
    assert check_language("yo", tmp_path / "x.tsv") == "yo"
