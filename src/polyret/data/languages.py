"""ISO 639-1 language codes used by polyret's datasets (plus the ~100 languages of XLM-R / mE5)."""

from __future__ import annotations

from pathlib import Path

from polyret.data.errors import DataFormatError

# code -> English name: the datasets' languages plus the ISO 639-1 codes among XLM-R's 100 pre-training
# languages (which mE5 shares; XLM-R's romanised / script variants map to the same code).
LANGUAGES: dict[str, str] = {
    "af": "Afrikaans", "am": "Amharic", "ar": "Arabic", "as": "Assamese", "az": "Azerbaijani",
    "be": "Belarusian", "bg": "Bulgarian", "bn": "Bengali", "br": "Breton", "bs": "Bosnian",
    "ca": "Catalan", "cs": "Czech", "cy": "Welsh", "da": "Danish", "de": "German", "el": "Greek",
    "en": "English", "eo": "Esperanto", "es": "Spanish", "et": "Estonian", "eu": "Basque",
    "fa": "Persian", "fi": "Finnish", "fr": "French", "fy": "Western Frisian", "ga": "Irish",
    "gd": "Scottish Gaelic", "gl": "Galician", "gu": "Gujarati", "ha": "Hausa", "he": "Hebrew",
    "hi": "Hindi", "hr": "Croatian", "hu": "Hungarian", "hy": "Armenian", "id": "Indonesian",
    "is": "Icelandic", "it": "Italian", "ja": "Japanese", "jv": "Javanese", "ka": "Georgian",
    "kk": "Kazakh", "km": "Khmer", "kn": "Kannada", "ko": "Korean", "ku": "Kurdish", "ky": "Kyrgyz",
    "la": "Latin", "lo": "Lao", "lt": "Lithuanian", "lv": "Latvian", "mg": "Malagasy",
    "mk": "Macedonian", "ml": "Malayalam", "mn": "Mongolian", "mr": "Marathi", "ms": "Malay",
    "my": "Burmese", "ne": "Nepali", "nl": "Dutch", "no": "Norwegian", "om": "Oromo", "or": "Odia",
    "pa": "Punjabi", "pl": "Polish", "ps": "Pashto", "pt": "Portuguese", "ro": "Romanian",
    "ru": "Russian", "sa": "Sanskrit", "sd": "Sindhi", "si": "Sinhala", "sk": "Slovak",
    "sl": "Slovenian", "so": "Somali", "sq": "Albanian", "sr": "Serbian", "su": "Sundanese",
    "sv": "Swedish", "sw": "Swahili", "ta": "Tamil", "te": "Telugu", "th": "Thai", "tl": "Tagalog",
    "tr": "Turkish", "ug": "Uyghur", "uk": "Ukrainian", "ur": "Urdu", "uz": "Uzbek",
    "vi": "Vietnamese", "xh": "Xhosa", "yi": "Yiddish", "yo": "Yoruba", "zh": "Chinese",
}  # fmt: skip


def is_language(code: str) -> bool:
    """Whether ``code`` is a known ISO 639-1 code."""
    return code in LANGUAGES


def check_language(code: str, path: str | Path | None = None, line: int | None = None) -> str:
    """Return ``code`` if it is a known ISO 639-1 code, else raise.

    With ``path`` the error is a :class:`DataFormatError` naming the file (and line);
    without it a plain ``ValueError``.
    """
    if code in LANGUAGES:
        return code
    hint = ""
    low = code.strip().lower()
    if low in LANGUAGES:
        hint = f" (did you mean {low!r}?)"
    elif len(low) == 3 or "-" in low or "_" in low:
        hint = " (polyret uses two-letter ISO 639-1 codes, e.g. 'en', 'zh')"
    message = f"unknown language code {code!r}{hint}; known: {', '.join(sorted(LANGUAGES))}"
    if path is not None:
        raise DataFormatError(path, line, message)
    raise ValueError(message)


def language_name(code: str) -> str:
    """English name of a code (``check_language`` first)."""
    return LANGUAGES[check_language(code)]
