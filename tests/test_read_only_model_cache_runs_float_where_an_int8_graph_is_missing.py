"""A model cache shared read-only (MENTIONDESK_MODEL_DIR "may be read-only once it holds the converted model") that
lacks an int8 graph: building it on first use stopped precision "auto" with a PermissionError, and the classify
worker's embeddings (the base network's own graph) failed every read that held a complaint, retried for ever. Now
"auto" and the embedder leave int8 out there, with one warning saying how to build the graphs, and
`python -m sentiment.convert` builds both graphs the shipped classifier may run."""
from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("onnxruntime")

from sentiment import load_classifier  # noqa: E402
from sentiment.errors import ModelNotAvailable  # noqa: E402
from sentiment.onnx_int8 import GRAPH_FILE, _graph_folder  # noqa: E402
from sentiment.runtime import float_precision  # noqa: E402
from tests.tiny_e5_cache import HIDDEN, make_read_only, tiny_artifact, tiny_model_cache  # noqa: E402


class _StubInt8Features:
    """Stands in for an ONNX Runtime session of a graph in the cache (the tiny model has no real one)."""

    def __init__(self, graph: Path, threads: int) -> None:
        self.graph = graph

    def __call__(self, inputs_embeds: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        return np.zeros((inputs_embeds.shape[0], HIDDEN), np.float32)


@pytest.fixture
def shared(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """(the converted folder in a cache holding no int8 graph, made read-only by the test; a head artifact for it)."""
    models = tmp_path / "shared-models"
    monkeypatch.setenv("MENTIONDESK_MODEL_DIR", str(models))
    return tiny_model_cache(models), tiny_artifact(tmp_path / "artifact")


def test_auto_runs_the_best_float_and_says_how_to_build_the_graphs(shared: tuple[Path, Path],
                                                                  caplog: pytest.LogCaptureFixture,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    folder, artifact = shared
    make_read_only(monkeypatch, folder.parent)
    with caplog.at_level(logging.WARNING):
        classifier = load_classifier("default", str(artifact), threads=1, precision="auto")
        assert classifier.classify(["the app"])[0].label in {"negative", "neutral", "positive"}
        assert classifier.embed(["the app"]).shape == (1, HIDDEN)
        load_classifier("default", str(artifact), threads=2, precision="auto")  # another encoder, same cache
    assert classifier.encoder.precision == float_precision()
    warnings = [r.getMessage() for r in caplog.records if "python -m sentiment.convert" in r.getMessage()]
    assert len(warnings) == 1 and str(folder.parent) in warnings[0], caplog.text


def test_the_embedder_of_an_int8_classifier_falls_back_to_float(shared: tuple[Path, Path],
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    folder, artifact = shared
    monkeypatch.setattr("sentiment.encoder.Int8Features", _StubInt8Features)
    classifier_graph = _graph_folder(folder, [2], None)  # the classifier's graph is there, the base network's not
    classifier_graph.mkdir()
    (classifier_graph / GRAPH_FILE).write_bytes(b"")
    make_read_only(monkeypatch, folder.parent)
    classifier = load_classifier("default", str(artifact), threads=1, precision="int8")
    assert classifier.classify(["the app"])[0].label in {"negative", "neutral", "positive"}
    vectors = classifier.embed(["the app", "app"])
    assert vectors.shape == (2, HIDDEN) and np.allclose(np.linalg.norm(vectors, axis=1), 1.0)
    assert classifier.encoder.precision == "int8" and classifier._base_encoder().precision == float_precision()


def test_int8_asked_for_where_its_graph_cannot_be_built_is_a_clear_error(shared: tuple[Path, Path],
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    folder, artifact = shared
    make_read_only(monkeypatch, folder.parent)
    with pytest.raises(ModelNotAvailable, match=rf"int8 graph .* is not built, and {folder.parent} cannot be "
                                                r"written here: run python -m sentiment\.convert"):
        load_classifier("default", str(artifact), threads=1, precision="int8")


def test_convert_builds_the_int8_graphs_of_the_shipped_classifier(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from sentiment import convert
    from sentiment.head import load_head
    from sentiment.paths import ARTIFACT_DIR

    models = tmp_path / "models"
    monkeypatch.setenv("MENTIONDESK_MODEL_DIR", str(models))
    folder = tiny_model_cache(models)
    built: list[tuple[list[int], bool]] = []
    monkeypatch.setattr("sentiment.onnx_int8.ensure_int8_graph",
                        lambda _folder, layers, weights=None: built.append((list(layers), bool(weights))))
    convert.main([])
    _, cfg = load_head(ARTIFACT_DIR)
    assert sorted(built) == sorted([(list(cfg.layers), bool(cfg.finetuned_layers)), ([12], False)])
    assert folder.exists()
