"""The catalog's entries (plain data). Checksums: see :mod:`polyret.data.catalog`."""

from __future__ import annotations

from polyret.data.info import DatasetInfo, Source

LAREQA_REPO = "https://raw.githubusercontent.com/google-research-datasets/lareqa"
XQUAD_R_COMMIT = "9bc8c7fb6dd8d01d72a05a93c2cb96882b0d299c"
MLQA_R_COMMIT = "354d67d1cd066854cdfbf5ad0e6105528976141d"  # mlqa-r/ was removed from master in b91469b
XQUAD_REPO = "https://raw.githubusercontent.com/google-deepmind/xquad"
XQUAD_COMMIT = "7d30520c717524000f0d9d2f9c10a069acd9d285"
BEIR_URL = "https://public.ukp.informatik.tu-darmstadt.de/thakur/BEIR/datasets"
MIRACL_URL = "https://huggingface.co/datasets/miracl/miracl/resolve/main"
MIRACL_CORPUS_URL = "https://huggingface.co/datasets/miracl/miracl-corpus"
ANSERINI_TOOLS = "https://raw.githubusercontent.com/castorini/anserini-tools/master/topics-and-qrels"

# sha256 of each file at the pinned commit (PROVENANCE.tsv of the data; equal to the local copies).
XQUAD_R_SHA256 = {
    "ar": "c52922d3b8ac1ae03ed5ac38647ad59870dca3dda2beefe18ecdc30729acb69d",
    "de": "16fb0f4bf4916154b585a20c24c66074591c9718a1affe764ff4697572328949",
    "el": "163fd43ee785a30eb534ae2061e9eaa766a7ee4e8ffce5e4b422480c150f64b6",
    "en": "7b0954f39297c27a31fef610f0883337dd2907fa8699151dc922afdd0fa12ffe",
    "es": "f8e836b2d91009c4363e04315f7ede363eedbbb49c67dda60de6c4aa782f58de",
    "hi": "ea45ba8ae4513d1533b222bebdc02a90bc319c055d3aeea68584a053d2e92872",
    "ru": "7f4dff853538b9a5fcc28c070b8bb983a5c5d190ac747b8e005a1ada9cab18f1",
    "th": "c3a041864c3a9fb0b4dd91cfdf99cf36b411b3e704c58a303c97bc6dc786cfe4",
    "tr": "f3e8c13002bbce154a4578f535f7533cb70f3da08840e6b62735935baec7bd94",
    "vi": "e35926bf5cc6fc6ecbdfca49467aabeb454f08d152d7818143a906bd31dde995",
    "zh": "80c2cde7b9c2fb134c303cbb52f2ba396ead9eb0014aec43993543d2ba9e93ed",
}
MLQA_R_SHA256 = {
    "ar": "2132fbc03208535c0fe01f2e2c5121d06f9c2aa799af93b0a719dbc105bdf137",
    "de": "ce9454dc5aa6f2d85c23cd6e49cb367fbb7c4c6e62d7f71e355c6b5dae4d0886",
    "en": "fedd9a5cc0848dda80caf84aa36f482adaae230526a3f6e9e86926a93ef3b1e4",
    "es": "70ecba276b8c96a692b120693a595d076ce94ad21d4b28311538a9fcbfe0f9d7",
    "hi": "4dd0fb3c06f737a5481d705bc1dcac7876712a5815c9265908fbb3a0696cb654",
    "vi": "9d3baff6ba03e6793b25594217265ea59a136b9733833dca8a9582a84a78ff85",
    "zh": "57f01d2fff50cf3392805635b01445339f225ad5bf28ba8443b12f8dbd1e69dc",
}
XQUAD_SHA256 = {
    "ar": "abdabd7afed5c635d99cca0f3f0d0c9d9ed0bc77451e963c2e4e0638c29e486d",
    "de": "990b5d746746ed65ed4702ea5f35f99ffa4e2f1c390c07d003642acd937916f9",
    "el": "821cf0f88e73fa258fd2f548b19b6ec39f7025059e16f6f9fc8cd797c9c3663e",
    "en": "e4c57d1c9143aaa1c5d265ba5987a65f4e69528d2a98f29d6e75019b10344f29",
    "es": "dcbae93ec3a9f4b9e78fd834a171d6f96c1a875e10e15b7530b7e4ef4971e37e",
    "hi": "df2cce3532b37e9beb8979704b5c9a4bf874358f105395a298b89427b43b9d24",
    "ro": "94f8d54e93ad2b7dd2e76dd921a666b5b8eff2d4379df9f179c42b445f09643f",
    "ru": "208d5b1aa154c52b1b5c5eda16281e455e8fd198cdb9af3f469f0d6037d973bf",
    "th": "5cdda11d0e1e075f7872abf4e6ae830388ce7f617964d542308e9ae4257e0f43",
    "tr": "92179a564774b7696100d144c1e10870d0a966b6fccbdd254a65b9d2ab1971cc",
    "vi": "f619a1eb11fb42d3ab0834259e488a65f585447ef6154437bfb7199d85161a04",
    "zh": "691d0b3359bc6b8faa8de931dfdfe21d50a65861ae348e32a0d1a0190b0c8835",
}
# md5 of the zips as published in BEIR's README.
BEIR_MD5 = {
    "nfcorpus": "a89dba18a62ef92f7d323ec890a0d38d",
    "scifact": "5f7d1de60b170fc8027bb7898e2efca1",
    "arguana": "8ad3e3c2a5867cdced806d6503f29b99",
}
BEIR_SPLITS = {"nfcorpus": ("test", "train", "dev"), "scifact": ("test", "train"), "arguana": ("test",)}

MIRACL_LANGS = (
    "ar",
    "bn",
    "de",
    "en",
    "es",
    "fa",
    "fi",
    "fr",
    "hi",
    "id",
    "ja",
    "ko",
    "ru",
    "sw",
    "te",
    "th",
    "yo",
    "zh",
)
MIRACL_NO_TRAIN = ("de", "yo")  # surprise languages: dev only
BRIGHT_SUBSETS = (
    "aops",
    "biology",
    "earth-science",
    "economics",
    "leetcode",
    "pony",
    "psychology",
    "robotics",
    "stackoverflow",
    "sustainable-living",
    "theoremqa-questions",
    "theoremqa-theorems",
)


def _lareqa(name: str, commit: str, sums: dict[str, str], licence: str, description: str) -> DatasetInfo:
    langs = tuple(sorted(sums))
    sources = tuple(
        Source(f"{LAREQA_REPO}/{commit}/{name}/{lang}.json", f"{lang}.json", f"sha256:{sums[lang]}")
        for lang in langs
    )
    return DatasetInfo(
        name, "lareqa", name, tuple(f"{lang}.json" for lang in langs), langs, licence, description, sources
    )


def _squad(
    name: str, path: str, files: dict, licence: str, description: str, sources=(), notes=""
) -> DatasetInfo:
    """``files``: relative file (or tuple of alternatives) -> language."""
    langs = tuple(sorted(set(files.values())))
    file_langs = {(k if isinstance(k, str) else k[0]): v for k, v in files.items()}
    return DatasetInfo(
        name,
        "squad",
        path,
        tuple(files),
        langs,
        licence,
        description,
        tuple(sources),
        notes=notes,
        file_langs=file_langs,
    )


def _qa_entries() -> list[DatasetInfo]:
    """LAReQA, XQuAD and the SQuAD-format QA sets."""
    return _lareqa_entries() + _squad_entries()


def _lareqa_entries() -> list[DatasetInfo]:
    """XQuAD-R, MLQA-R, XQuAD and SQuAD dev."""
    return [
        _lareqa(
            "xquad-r",
            XQUAD_R_COMMIT,
            XQUAD_R_SHA256,
            "CC BY-SA 4.0",
            "XQuAD-R (LAReQA): answer-sentence retrieval from an 11-language pool",
        ),
        _lareqa(
            "mlqa-r",
            MLQA_R_COMMIT,
            MLQA_R_SHA256,
            "CC BY-NC 4.0 (non-commercial)",
            "MLQA-R (LAReQA): answer-sentence retrieval from a 7-language pool",
        ),
        _squad(
            "xquad",
            "xquad",
            {f"xquad.{lang}.json": lang for lang in sorted(XQUAD_SHA256)},
            "CC BY-SA 4.0",
            "XQuAD: 240 SQuAD v1.1 dev paragraphs, 1,190 questions, professionally translated",
            [
                Source(f"{XQUAD_REPO}/{XQUAD_COMMIT}/xquad.{lang}.json", f"xquad.{lang}.json", f"sha256:{s}")
                for lang, s in sorted(XQUAD_SHA256.items())
            ],
        ),
        _squad(
            "squad-dev",
            "squad-v1.1-dev-en",
            {("dev-v1.1.reconstructed.json", "dev-v1.1.json"): "en"},
            "CC BY-SA 4.0",
            "SQuAD v1.1 dev (English)",
            [Source("https://rajpurkar.github.io/SQuAD-explorer/dataset/dev-v1.1.json", "dev-v1.1.json")],
            notes="The bundled copy is rebuilt from the explorer pages (answer_start = first occurrence); "
            "a download gets the official dev-v1.1.json. No checksum is published.",
        ),
    ]


def _squad_entries() -> list[DatasetInfo]:
    """Translated SQuAD and native-language SQuAD-format QA sets."""
    return [
        _squad(
            "squad-translated/es",
            "squad-translated",
            {"squad-es-v1.1-dev_small.json": "es"},
            "CC BY 4.0",
            "SQuAD-es v1.1 dev (small), Translate-Align-Retrieve; ids = English SQuAD dev ids",
            [
                Source(
                    "https://raw.githubusercontent.com/ccasimiro88/TranslateAlignRetrieve/master/"
                    "SQuAD-es-v1.1/dev-v1.1-es_small.json",
                    "squad-es-v1.1-dev_small.json",
                )
            ],
        ),
        _squad(
            "squad-translated/da",
            "squad-translated",
            {"squad-da-v1.1-dev_small.json": "da"},
            "not stated",
            "SQuAD v1.1 dev translated to Danish (small); ids = English SQuAD dev ids",
            notes="No public download location is known to polyret; place the file by hand.",
        ),
        _squad(
            "squad-translated/it",
            "squad-translated",
            {"squad-it-test.json.gz": "it"},
            "CC BY-SA 4.0",
            "SQuAD-it test (= SQuAD v1.1 dev translated to Italian); 714 questions carry new ids",
            [
                Source(
                    "https://github.com/crux82/squad-it/raw/master/SQuAD_it-test.json.gz",
                    "squad-it-test.json.gz",
                )
            ],
        ),
        _squad(
            "qa-mono/ar",
            "qa-mono/ar-arcd",
            {"arcd-train.json": "ar", "arcd-test.json": "ar"},
            "MIT",
            "ARCD: Arabic Reading Comprehension Dataset (native Arabic, SQuAD format)",
            [
                Source(f"https://raw.githubusercontent.com/husseinmozannar/SOQAL/master/data/{f}", f)
                for f in ("arcd-train.json", "arcd-test.json")
            ],
        ),
        _squad(
            "qa-mono/tr",
            "qa-mono/tr-tquad",
            {"train-v0.1.json": "tr", "dev-v0.1.json": "tr"},
            "none stated",
            "TQuAD: Turkish QA (native Turkish, SQuAD format)",
            [
                Source(f"https://raw.githubusercontent.com/TQuad/turkish-nlp-qa-dataset/master/{f}", f)
                for f in ("train-v0.1.json", "dev-v0.1.json")
            ],
        ),
        _squad(
            "qa-mono/zh",
            "qa-mono/zh-cmrc2018",
            {"cmrc2018_dev.json": "zh", "cmrc2018_trial.json": "zh"},
            "CC BY-SA 4.0",
            "CMRC 2018: Chinese machine reading comprehension (SQuAD format)",
            [
                Source(f"https://raw.githubusercontent.com/ymcui/cmrc2018/master/squad-style-data/{f}", f)
                for f in ("cmrc2018_dev.json", "cmrc2018_trial.json")
            ],
        ),
        _squad(
            "qa-mono/ko",
            "qa-mono/ko-korquad1",
            {"KorQuAD_v1.0_dev.json": "ko"},
            "CC BY-ND 2.0 KR",
            "KorQuAD 1.0 dev (native Korean, SQuAD format)",
            [Source("https://korquad.github.io/dataset/KorQuAD_v1.0_dev.json", "KorQuAD_v1.0_dev.json")],
        ),
    ]


def _beir_entries() -> list[DatasetInfo]:
    """BEIR nfcorpus, scifact and arguana."""
    entries = []
    for name, splits in BEIR_SPLITS.items():
        entries.append(
            DatasetInfo(
                f"beir/{name}",
                "beir",
                f"beir/{name}",
                ("corpus.jsonl", "queries.jsonl", *(f"qrels/{s}.tsv" for s in splits)),
                ("en",),
                "CC BY-NC 2.0 (SciFact)" if name == "scifact" else "CC BY-SA 4.0 (BEIR)",
                f"BEIR {name} (corpus, queries, qrels: {', '.join(splits)})",
                (
                    Source(
                        f"{BEIR_URL}/{name}.zip",
                        ".",
                        f"md5:{BEIR_MD5[name]}",
                        archive="zip",
                        strip=f"{name}/",
                    ),
                ),
            )
        )
    return entries


def _miracl_entries() -> list[DatasetInfo]:
    """MIRACL topics and qrels per language."""
    entries = []
    for lang in MIRACL_LANGS:
        splits = ("dev",) if lang in MIRACL_NO_TRAIN else ("dev", "train")
        files = [f"{kind}/{kind}.miracl-v1.0-{lang}-{s}.tsv" for s in splits for kind in ("topics", "qrels")]
        entries.append(
            DatasetInfo(
                f"miracl/{lang}",
                "miracl",
                "miracl",
                tuple(files),
                (lang,),
                "Apache-2.0",
                f"MIRACL v1.0 {lang} topics and qrels ({', '.join(splits)}); the corpus is user-supplied",
                tuple(Source(f"{MIRACL_URL}/miracl-v1.0-{lang}/{f}", f) for f in files),
                notes=f"Corpus: {MIRACL_CORPUS_URL} (jsonl: docid, title, text)",
            )
        )
    return entries


def _bright_entries() -> list[DatasetInfo]:
    """BRIGHT topics and qrels per subset."""
    entries = []
    for subset in BRIGHT_SUBSETS:
        plain = (f"topics/topics.bright-{subset}.tsv.gz", f"qrels/qrels.bright-{subset}.txt")
        files = (
            *plain,
            f"topics/topics.bright-{subset}-original.jsonl.gz",
            f"qrels/qrels.bright-{subset}.fixed.txt",
        )
        entries.append(
            DatasetInfo(
                f"bright/{subset}",
                "bright",
                "bright",
                files,
                ("en",),
                "CC BY 4.0",
                f"BRIGHT {subset}: reasoning-intensive retrieval topics and qrels; documents user-supplied",
                tuple(Source(f"{ANSERINI_TOOLS}/{f.split('/')[1]}", f) for f in plain),
                notes="The -original.jsonl.gz records and .fixed qrels have no download location recorded; "
                "documents: https://huggingface.co/datasets/xlangai/BRIGHT (documents config).",
            )
        )
    return entries


def _parallel_entries() -> list[DatasetInfo]:
    """The parallel training join."""
    return [
        DatasetInfo(
            "squad-parallel",
            "parallel",
            ".",
            (),
            ("da", "en", "es", "it"),
            "per part (see squad-dev, squad-translated/*)",
            "Training join: SQuAD v1.1 dev en/es/da/it by question id, minus the paragraphs of XQuAD",
            parts=("squad-dev", "squad-translated/es", "squad-translated/da", "squad-translated/it", "xquad"),
        )
    ]


def build_catalog() -> dict[str, DatasetInfo]:
    entries = _qa_entries() + _beir_entries() + _miracl_entries() + _bright_entries() + _parallel_entries()
    return {e.name: e for e in entries}
