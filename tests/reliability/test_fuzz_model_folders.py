"""Fuzz model folders and checkpoints (issue 21) built from the tiny model (``polyret.modeling.tiny``).

- metadata JSON (``modules.json``, ``polyret.json``, ``1_Pooling/config.json``, ``sentence_bert_config.json``,
  ``config_sentence_transformers.json``): through ``config_from_st_folder``; a valid file gives the
  EncoderConfig it describes, a damaged one a line naming it;
- ``config.json`` edits and ``model.safetensors`` damage: through ``load_model``; an edit that changes
  the architecture (layers, sizes, vocabulary) or damages the weights must be refused, one that does not
  (dropout, initializer range) must load weights identical to the saved ones -- never random ones;
- checkpoints (``state.pt``): through ``load_checkpoint`` + ``restore`` into the components of a run;
  a wrong step, a missing component or a tensor of another shape must be refused.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import warnings
from pathlib import Path

import pytest
import recorder
import torch
from docfuzz import MUTATIONS, DocFormat, doc_cases, run_doc_case
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from polyret.errors import UserError
from polyret.modeling.config import EncoderConfig
from polyret.modeling.st_format import MaxLengthWarning, config_from_st_folder
from polyret.modeling.tiny import tiny_bi_encoder

META_EXAMPLES = int(os.environ.get("POLYRET_FUZZ_EXAMPLES_META", "60"))  # 5 files x ~10 mutations x 60
HEAVY_EXAMPLES = int(os.environ.get("POLYRET_FUZZ_EXAMPLES_MODEL", "50"))  # model loads / checkpoints
HEALTH = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much]
WORDS = ["alpha", "beta", "gamma", "delta", "river", "mountain"]
ST = "sentence_transformers.models."


@pytest.fixture(scope="module")
def saved(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("tiny") / "model"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MaxLengthWarning)
        tiny_bi_encoder(WORDS, dropout=0.0).save(folder)
    return folder


# ------------------------------------------------------------------ metadata JSON
lengths = st.integers(2, 512)
prefixes = st.text(max_size=8)
encoders = st.fixed_dictionaries(
    {
        "pooling": st.sampled_from(["mean", "cls"]),
        "normalize": st.booleans(),
        "query_prefix": prefixes,
        "passage_prefix": prefixes,
        "max_query_length": lengths,
        "max_passage_length": lengths,
    }
)


def _modules(normalize: bool) -> list[dict]:
    mods = [
        {"idx": 0, "name": "0", "path": "", "type": ST + "Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": ST + "Pooling"},
    ]
    return mods + (
        [{"idx": 2, "name": "2", "path": "2_Normalize", "type": ST + "Normalize"}] if normalize else []
    )


def _reader(keep_polyret: bool):
    def read(path: Path) -> EncoderConfig:
        folder = path.parent if path.parent.name != "1_Pooling" else path.parent.parent
        return config_from_st_folder(folder)[0]

    return read


def _prepare(folder: Path, keep_polyret: bool) -> None:
    for name in (
        "modules.json",
        "polyret.json",
        "sentence_bert_config.json",
        "config_sentence_transformers.json",
        "1_Pooling/config.json",
    ):
        (folder / name).unlink(missing_ok=True)
    (folder / "1_Pooling").mkdir(exist_ok=True)
    (folder / "modules.json").write_text(json.dumps(_modules(True)))
    (folder / "1_Pooling" / "config.json").write_text(json.dumps({"pooling_mode_mean_tokens": True}))


def _st_expected(pool=None, sbert=None, prompts=None, normalize=True) -> EncoderConfig:
    """The EncoderConfig a sentence-transformers folder describes, worked out independently."""
    pooling = "cls" if (pool or {}).get("pooling_mode_cls_token") else "mean"
    length = (sbert or {}).get("max_seq_length", 512)
    p = (prompts or {}).get("prompts") or {}
    return EncoderConfig(
        pooling=pooling,
        normalize=normalize,
        query_prefix=p.get("query", ""),
        passage_prefix=p.get("passage", p.get("document", "")),
        max_query_length=length,
        max_passage_length=length,
    )


META_FORMATS = [
    DocFormat(
        "model polyret.json",
        "polyret.json",
        st.fixed_dictionaries({"encoder_config": encoders, "format_version": st.just(1)}),
        _reader(True),
        lambda doc, got: got == EncoderConfig(**doc["encoder_config"]),
        required=("encoder_config",),
        typed={"encoder_config": "dict", "format_version": "int"},
    ),
    DocFormat(
        "model 1_Pooling/config.json",
        "1_Pooling/config.json",
        st.sampled_from(["cls", "mean"]).map(
            lambda m: {
                "word_embedding_dimension": 32,
                "pooling_mode_cls_token": m == "cls",
                "pooling_mode_mean_tokens": m == "mean",
                "pooling_mode_max_tokens": False,
            }
        ),
        _reader(False),
        lambda doc, got: got == _st_expected(pool=doc),
        required=(),
        typed={
            "pooling_mode_cls_token": "bool",
            "pooling_mode_mean_tokens": "bool",
            "word_embedding_dimension": "int",
        },
        nullable=("word_embedding_dimension",),
    ),
    DocFormat(
        "model sentence_bert_config.json",
        "sentence_bert_config.json",
        st.fixed_dictionaries({"max_seq_length": lengths, "do_lower_case": st.just(False)}),
        _reader(False),
        lambda doc, got: got == _st_expected(sbert=doc),
        required=(),
        typed={"max_seq_length": "int", "do_lower_case": "bool"},
        nullable=("max_seq_length",),
    ),
    DocFormat(
        "model config_sentence_transformers.json",
        "config_sentence_transformers.json",
        st.fixed_dictionaries(
            {
                "prompts": st.fixed_dictionaries({"query": prefixes, "passage": prefixes}),
                "default_prompt_name": st.none(),
            }
        ),
        _reader(False),
        lambda doc, got: got == _st_expected(prompts=doc),
        required=(),
        typed={"prompts": "dict"},
        nullable=("prompts",),
    ),
]


@pytest.mark.parametrize("mutation", [m for m in MUTATIONS if m != "missing_key"] + ["missing_key"])
@pytest.mark.parametrize("fmt", META_FORMATS, ids=lambda f: f.name)
def test_fuzz_model_metadata(fmt, mutation):
    if mutation == "missing_key" and not fmt.required:
        pytest.skip("every key of this file is optional")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)

        @settings(
            max_examples=META_EXAMPLES,
            derandomize=True,
            deadline=None,
            database=None,
            suppress_health_check=HEALTH,
        )
        @given(case=doc_cases(fmt, mutation))
        def check(case):
            _prepare(folder, fmt.filename == "polyret.json")
            run_doc_case(fmt, folder, mutation, *case)

        check()


modules_docs = st.booleans().map(_modules)
MODULES_MUTATIONS = [
    "valid",
    "bom",
    "empty",
    "truncate",
    "not_json",
    "wrong_top",
    "item_not_object",
    "item_missing_path",
    "item_wrong_type",
    "unknown_module",
    "path_escape",
]


@pytest.mark.parametrize("mutation", MODULES_MUTATIONS)
def test_fuzz_modules_json(mutation):
    name = "model modules.json"
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)

        @settings(
            max_examples=META_EXAMPLES,
            derandomize=True,
            deadline=None,
            database=None,
            suppress_health_check=HEALTH,
        )
        @given(normalize=st.booleans(), data=st.data())
        def check(normalize, data):
            _prepare(folder, False)
            mods = _modules(normalize)
            text, damaged = json.dumps(mods), mutation not in ("valid", "bom")
            i = data.draw(st.integers(0, len(mods) - 1))
            if mutation == "bom":
                raw = b"\xef\xbb\xbf" + text.encode()
            elif mutation == "empty":
                raw = b""
            elif mutation == "truncate":
                raw = text.encode()[: data.draw(st.integers(0, len(text) - 1))]
            elif mutation == "not_json":
                raw = b"[{oops"
            elif mutation == "wrong_top":
                raw = data.draw(st.sampled_from([b"{}", b'{"a": 1}', b"null", b"3", b'"x"']))
            elif mutation == "item_not_object":
                mods[i] = data.draw(st.sampled_from([None, 3, "Transformer", [1]]))
                raw = json.dumps(mods).encode()
            elif mutation == "item_missing_path":
                del mods[i][data.draw(st.sampled_from(["path", "type"]))]
                raw = json.dumps(mods).encode()
            elif mutation == "item_wrong_type":
                mods[i][data.draw(st.sampled_from(["path", "type"]))] = data.draw(
                    st.sampled_from([None, 3, [], {}])
                )
                raw = json.dumps(mods).encode()
            elif mutation == "unknown_module":
                mods.append({"idx": 3, "name": "3", "path": "3_Dense", "type": ST + "Dense"})
                raw = json.dumps(mods).encode()
            elif mutation == "path_escape":
                mods[0]["path"] = data.draw(st.sampled_from(["..", "../..", "/etc", "../other"]))
                raw = json.dumps(mods).encode()
            else:
                raw = text.encode()
            (folder / "modules.json").write_bytes(raw)
            expected = _st_expected(normalize=normalize)
            fmt = DocFormat(
                name,
                "modules.json",
                st.nothing(),
                _reader(False),
                lambda d, g: g == expected,
                required=(),
                typed={},
            )
            from docfuzz import judge_doc

            outcome, detail = judge_doc(fmt, folder / "modules.json", {}, damaged)
            recorder.record(name, f"{name}: {mutation.replace('_', ' ')}", outcome)
            assert outcome not in recorder.BAD_OUTCOMES, f"{mutation}: {outcome}: {detail}"

        check()


# ---------------------------------------------------------------- config.json and weights through load_model
ARCH_CHANGES = {
    "num_hidden_layers": [1, 3, 4, 12],
    "hidden_size": [16, 64],
    "intermediate_size": [32, 128],
    "vocab_size": [5, 8, 200],
    "max_position_embeddings": [64, 256],
    "type_vocab_size": [1, 3],
}
HARMLESS = {
    "hidden_dropout_prob": [0.0, 0.3],
    "attention_probs_dropout_prob": [0.0, 0.2],
    "initializer_range": [0.01, 0.5],
    "layer_norm_eps": [1e-6],
}
WEIGHT_MUTATIONS = [
    "config_harmless",
    "config_architecture",
    "config_not_json",
    "config_wrong_top",
    "config_model_type",
    "drop_tensor",
    "extra_tensor",
    "reshape_tensor",
    "truncate_weights",
    "header_bytes",
    "tokenizer_json",
]


def _load(folder: Path):
    from polyret.modeling import load_model

    return load_model(folder, device="cpu")


@pytest.mark.parametrize("mutation", WEIGHT_MUTATIONS)
def test_fuzz_model_weights_and_config(saved, mutation):
    from safetensors.torch import load_file, save_file

    name = "model config.json + model.safetensors"
    reference = load_file(saved / "model.safetensors")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "m"

        @settings(
            max_examples=HEAVY_EXAMPLES,
            derandomize=True,
            deadline=None,
            database=None,
            suppress_health_check=HEALTH,
        )
        @given(data=st.data())
        def check(data):
            shutil.rmtree(folder, ignore_errors=True)
            shutil.copytree(saved, folder)
            cfg = json.loads((folder / "config.json").read_text())
            damaged = mutation != "config_harmless"
            keys = sorted(reference)
            if mutation.startswith("config_"):
                if mutation == "config_harmless":
                    key = data.draw(st.sampled_from(sorted(HARMLESS)))
                    cfg[key] = data.draw(st.sampled_from(HARMLESS[key]))
                elif mutation == "config_architecture":
                    key = data.draw(st.sampled_from(sorted(ARCH_CHANGES)))
                    cfg[key] = data.draw(st.sampled_from(ARCH_CHANGES[key]))
                elif mutation == "config_model_type":
                    cfg["model_type"] = data.draw(st.sampled_from([None, 3, "no-such-arch", ["bert"]]))
                text = json.dumps(cfg)
                if mutation == "config_not_json":
                    text = text[: data.draw(st.integers(0, len(text) - 1))]
                elif mutation == "config_wrong_top":
                    text = data.draw(st.sampled_from(["[]", "null", "3", '"bert"']))
                (folder / "config.json").write_text(text)
            elif mutation in ("drop_tensor", "extra_tensor", "reshape_tensor"):
                state = dict(reference)
                key = data.draw(st.sampled_from(keys))
                if mutation == "drop_tensor":
                    state.pop(key)
                elif mutation == "extra_tensor":
                    state[f"encoder.layer.{data.draw(st.integers(2, 9))}.extra.weight"] = torch.zeros(2)
                else:
                    shape = list(state[key].shape)
                    axis = data.draw(st.integers(0, len(shape) - 1))
                    shape[axis] += data.draw(st.sampled_from([-1, 1, 7]))
                    state[key] = torch.zeros([max(1, s) for s in shape])
                save_file(state, folder / "model.safetensors")
            elif mutation == "truncate_weights":
                raw = (folder / "model.safetensors").read_bytes()
                (folder / "model.safetensors").write_bytes(raw[: data.draw(st.integers(0, len(raw) - 1))])
            elif mutation == "header_bytes":  # damage inside the 8-byte length or the JSON header
                raw = bytearray((folder / "model.safetensors").read_bytes())
                header_end = 8 + int.from_bytes(raw[:8], "little")
                at = data.draw(st.integers(0, header_end - 1))
                raw[at] = data.draw(st.integers(0, 255).filter(lambda b: b != raw[at]))
                (folder / "model.safetensors").write_bytes(bytes(raw))
                damaged = (
                    None  # some header bytes (padding, metadata) do not matter: then it must load intact
                )
            elif mutation == "tokenizer_json":
                (folder / "tokenizer.json").write_text(
                    data.draw(st.sampled_from(["{}", "[]", "null", '{"model": 3}', "{", ""]))
                )
            outcome, detail = _judge_model(folder, reference, damaged)
            recorder.record(name, f"{name}: {mutation.replace('_', ' ')}", outcome)
            assert outcome not in recorder.BAD_OUTCOMES, f"{mutation}: {outcome}: {detail}"

        check()


def _judge_model(folder: Path, reference: dict, damaged: bool | None) -> tuple[str, str]:
    """Refused with one line naming the folder, or loaded with exactly the saved weights."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            model = _load(folder)
        except UserError as error:
            text = str(error)
            if damaged is False:
                return recorder.WRONG, f"valid folder refused: {text}"
            if folder.name not in text or "\n" in text:
                return recorder.UNCLEAR, text
            return recorder.CLEAR_ERROR, ""
        except Exception as error:  # noqa: BLE001 - any other type is the finding
            return recorder.CRASH, f"{type(error).__name__}: {error}"
    state = model.backbone.state_dict()
    same = set(state) == set(reference) and all(torch.equal(state[k], reference[k]) for k in reference)
    if damaged or not same:
        return recorder.WRONG, f"loaded a damaged folder (weights identical: {same})"
    return recorder.VALID, ""


# ------------------------------------------------------------------ checkpoints
CKPT_MUTATIONS = [
    "valid",
    "step_beyond",
    "step_negative",
    "step_wrong_type",
    "missing_component",
    "tensor_shape",
    "state_not_dict",
    "truncated",
    "not_a_checkpoint",
]


class _Progress:
    def __init__(self):
        self.step = 0

    def state_dict(self):
        return {"step": self.step}

    def load_state_dict(self, state):
        self.step = state["step"]


@pytest.mark.parametrize("mutation", CKPT_MUTATIONS)
def test_fuzz_checkpoints(mutation):
    from polyret.training import checkpointing as ckpt

    name = "training checkpoint state.pt"
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)

        @settings(
            max_examples=HEAVY_EXAMPLES * 2,
            derandomize=True,
            deadline=None,
            database=None,
            suppress_health_check=HEALTH,
        )
        @given(max_steps=st.integers(1, 100), data=st.data(), seed=st.integers(0, 2**16))
        def check(max_steps, data, seed):
            torch.manual_seed(seed)
            model, progress = torch.nn.Linear(4, 3), _Progress()
            step = data.draw(st.integers(0, max_steps))
            progress.step = step
            shutil.rmtree(root / "c", ignore_errors=True)
            path = ckpt.save_checkpoint(root / "c", step, {"model": model, "progress": progress})
            payload = torch.load(path / "state.pt", weights_only=True)
            damaged = mutation != "valid"
            if mutation == "step_beyond":
                payload["step"] = max_steps + data.draw(st.integers(1, 10_000))
            elif mutation == "step_negative":
                payload["step"] = -data.draw(st.integers(1, 100))
            elif mutation == "step_wrong_type":
                payload["step"] = data.draw(st.sampled_from(["5", 2.5, None, True, [1]]))
            elif mutation == "missing_component":
                payload["state"].pop(data.draw(st.sampled_from(["model", "progress"])))
            elif mutation == "tensor_shape":
                key = data.draw(st.sampled_from(["weight", "bias"]))
                payload["state"]["model"][key] = torch.zeros(data.draw(st.integers(1, 6)), 5)
            elif mutation == "state_not_dict":
                payload["state"] = data.draw(st.sampled_from([[1, 2], "x", 3, None]))
            if mutation in ("truncated", "not_a_checkpoint"):
                raw = (path / "state.pt").read_bytes()
                cut = data.draw(st.integers(0, len(raw) - 1))
                new = raw[:cut] if mutation == "truncated" else b"PK" + raw[cut:]
                (path / "state.pt").write_bytes(new)
                if mutation == "not_a_checkpoint":  # bytes before a zip are legal: refused, or read intact
                    damaged = None if new != raw else False
            else:
                torch.save(payload, path / "state.pt")
            fresh_model, fresh_progress = torch.nn.Linear(4, 3), _Progress()
            try:
                loaded = ckpt.load_checkpoint(path)
                got = ckpt.restore(
                    {"model": fresh_model, "progress": fresh_progress},
                    loaded,
                    path / "state.pt",
                    max_step=max_steps,
                )
            except UserError as error:
                text = str(error)
                ok = damaged is not False and "state.pt" in text and "\n" not in text
                outcome = (
                    recorder.CLEAR_ERROR if ok else (recorder.WRONG if damaged is False else recorder.UNCLEAR)
                )
            except Exception as error:  # noqa: BLE001
                outcome, text = recorder.CRASH, f"{type(error).__name__}: {error}"
            else:
                same = got == step and all(
                    torch.equal(a, b)
                    for a, b in zip(
                        fresh_model.state_dict().values(), model.state_dict().values(), strict=True
                    )
                )
                outcome, text = (
                    (recorder.VALID, "") if same and damaged is not True else (recorder.WRONG, "accepted")
                )
            recorder.record(name, f"{name}: {mutation.replace('_', ' ')}", outcome)
            assert outcome not in recorder.BAD_OUTCOMES, f"{mutation}: {outcome}: {text}"

        check()
