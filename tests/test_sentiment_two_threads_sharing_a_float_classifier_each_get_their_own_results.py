"""Two threads using one float (bf16 or fp32) classifier at once, as the dashboard's sessions (a thread each) share
the cached one for "Suggest replies": each call put its pooling hooks on the shared model, so a call running beside
another pooled the other's states too, and got its labels or embeddings, or failed on their shapes
(RuntimeError). Now each call gets what it gets alone."""
from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from sentiment import load_classifier  # noqa: E402
from sentiment.api import E5Classifier  # noqa: E402
from tests.tiny_e5_cache import tiny_artifact, tiny_model_cache  # noqa: E402

# Batches of other shapes: three short texts, and one long one.
SHORT = ["the app", "app", "the"]
LONG = ["the app " * 12]


@pytest.fixture
def artifact(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    models = tmp_path / "models"
    monkeypatch.setenv("MENTIONDESK_MODEL_DIR", str(models))
    tiny_model_cache(models)
    return tiny_artifact(tmp_path / "artifact")


def _at_once(model: torch.nn.Module, first: Callable[[], object], second: Callable[[], object]) -> list[object]:
    """[first(), second()], `second` called from another thread while `first`'s forward pass through `model` is under
    way: held at its first layer until `second` has returned, or for a second where `second` waits for it."""
    first_running, second_done = threading.Event(), threading.Event()
    results: dict[str, object] = {}

    def hold(_module: torch.nn.Module, _inputs: object) -> None:
        if threading.current_thread().name == "first" and not first_running.is_set():
            first_running.set()
            second_done.wait(timeout=1)

    def run(call: Callable[[], object], done: threading.Event) -> None:
        try:
            results[threading.current_thread().name] = call()
        except Exception as exc:  # shown by the assertion below
            results[threading.current_thread().name] = exc
        finally:
            done.set()

    held = model.encoder.layer[0].register_forward_pre_hook(hold)
    try:
        first_thread = threading.Thread(target=run, args=(first, threading.Event()), name="first")
        first_thread.start()
        assert first_running.wait(timeout=60)
        second_thread = threading.Thread(target=run, args=(second, second_done), name="second")
        second_thread.start()
        second_thread.join()
        first_thread.join()
    finally:
        held.remove()
    errors = {name: result for name, result in results.items() if isinstance(result, Exception)}
    assert not errors, errors
    return [results["first"], results["second"]]


@pytest.mark.parametrize("precision", ["bf16", "fp32"])
def test_two_threads_classifying_at_once_each_get_their_own_labels(artifact: Path, precision: str) -> None:
    classifier = load_classifier("default", str(artifact), threads=1, precision=precision)
    assert isinstance(classifier, E5Classifier) and classifier.encoder.precision == precision
    alone = [classifier.classify(SHORT), classifier.classify(LONG)]
    together = _at_once(classifier.encoder.model, lambda: classifier.classify(SHORT), lambda: classifier.classify(LONG))
    assert together == alone


@pytest.mark.parametrize("precision", ["bf16", "fp32"])
def test_two_threads_embedding_at_once_each_get_their_own_vectors(artifact: Path, precision: str) -> None:
    classifier = load_classifier("default", str(artifact), threads=1, precision=precision)
    assert isinstance(classifier, E5Classifier) and classifier._base_encoder().precision == precision
    alone = [classifier.embed(SHORT), classifier.embed(LONG)]
    together = _at_once(classifier._base_encoder().model, lambda: classifier.embed(SHORT),
                        lambda: classifier.embed(LONG))
    for got, expected in zip(together, alone):
        np.testing.assert_array_equal(got, expected)
