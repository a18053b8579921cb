"""A damaged model cache (a file cut short by a full disk or a copy that stopped) showed as a raw SafetensorError
or InvalidProtobuf, and `python -m sentiment.convert --force`, the documented cure, kept the damaged bf16 copy (its
marker was intact) and every int8 graph (only checked to exist). Now each load names the damaged file and the cure,
and --force makes the bf16 copy again and removes the int8 graphs, to be built afresh."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("onnxruntime")

from sentiment.convert import Q4_EMBEDDINGS_FILE  # noqa: E402
from sentiment.encoder import E5Encoder  # noqa: E402
from sentiment.errors import ModelNotAvailable  # noqa: E402
from sentiment.onnx_int8 import GRAPH_FILE, _graph_folder  # noqa: E402
from tests.tiny_e5_cache import tiny_model_cache  # noqa: E402

CURE = "; run python -m sentiment.convert --force"


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("MENTIONDESK_MODEL_DIR", str(tmp_path / "models"))
    return tiny_model_cache(tmp_path / "models")


def _cut_short(path: Path) -> None:
    path.write_bytes(path.read_bytes()[:100])


def _bf16_weights(folder: Path) -> Path:
    return folder.with_name(folder.name + "-bf16") / "model.safetensors"


def _int8_graph(folder: Path) -> Path:
    graph = _graph_folder(folder, (2,), None) / GRAPH_FILE
    graph.parent.mkdir()
    graph.write_bytes(b"not a graph")
    return graph


@pytest.mark.parametrize("precision, damaged", [
    ("fp32", lambda folder: _cut_short(_bf16_weights(folder)) or _bf16_weights(folder).parent),
    ("fp32", lambda folder: _cut_short(folder / Q4_EMBEDDINGS_FILE) or folder / Q4_EMBEDDINGS_FILE),
    ("int8", _int8_graph),
])
def test_a_damaged_file_is_named_with_the_cure(folder: Path, precision: str, damaged) -> None:
    path = damaged(folder)
    with pytest.raises(ModelNotAvailable, match=rf"^{re.escape(str(path))} is damaged \(\w+: .*\){re.escape(CURE)}$"):
        E5Encoder(folder, layers=(2,), precision=precision, threads=1)


def test_force_makes_the_bf16_copy_again_and_removes_the_int8_graphs(folder: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from sentiment import convert

    _cut_short(_bf16_weights(folder))  # its marker still says it is current
    graph = _int8_graph(folder)
    converted: list[Path] = []
    monkeypatch.setattr(convert, "convert", lambda out: converted.append(out) or out)  # the conversion, done again
    built: list[tuple] = []
    monkeypatch.setattr("sentiment.api.ensure_int8_graphs", lambda folder: built.append(folder), raising=False)
    convert.main(["--force"])
    assert converted == [folder]
    assert not graph.parent.exists()
    assert E5Encoder(folder, layers=(2,), precision="fp32", threads=1).encode(["the app"]).shape == (1, 32)
