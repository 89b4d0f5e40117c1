"""--device: where SBERT's torch work runs, through the settings object, the API and the CLI."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from embeddings import get_embedder
from embeddings.sbert import SbertEmbedder
from textig.cli import main
from textig.errors import TextigError
from textig.settings import ExplainSettings

NO_CUDA = "torch sees no CUDA device here (torch.cuda.is_available() is False)"
CAPTION = "a palm tree in the centre of a busy street"


@pytest.fixture(scope="module")
def sbert() -> SbertEmbedder:
    return get_embedder("sbert")


def test_settings_refuse_an_unknown_device() -> None:
    with pytest.raises(TextigError, match="unknown device 'gpu'"):
        ExplainSettings(device="gpu")
    assert ExplainSettings().device == "auto"


def test_glove_runs_on_the_cpu_whatever_is_asked() -> None:
    glove = get_embedder("glove")
    assert [glove.use_device(d) for d in ("auto", "cpu", "cuda")] == ["cpu"] * 3


def test_cli_refuses_an_unknown_device(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["explain", "a dog", "--device", "tpu"])
    assert exit_info.value.code == 2
    assert "invalid choice: 'tpu'" in capsys.readouterr().err


def test_auto_and_cpu_resolve_to_what_torch_sees(sbert: SbertEmbedder) -> None:
    assert sbert.use_device("cpu") == "cpu"
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert sbert.use_device("auto") == expected
    sbert.use_device("cpu")


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a CUDA device")
def test_cuda_without_a_device_is_one_clear_error(sbert: SbertEmbedder) -> None:
    with pytest.raises(TextigError, match="torch sees no CUDA device"):
        sbert.use_device("cuda")
    assert sbert.device.type == "cpu"


@pytest.mark.skipif(not torch.cuda.is_available(), reason=NO_CUDA)
def test_cuda_gives_the_cpu_numbers(sbert: SbertEmbedder) -> None:
    """Encoding and "ig" words on the GPU equal the CPU's, and the words keep the sum rule."""
    sbert.use_device("cpu")
    x_cpu = sbert.encode([CAPTION])[0]
    b = sbert.neutral_baseline(CAPTION).astype(np.float64)
    gbar = np.random.default_rng(3).normal(size=(3, 384))
    cpu_words = sbert.word_attributions(CAPTION, gbar, b)
    try:
        assert sbert.use_device("cuda") == "cuda"
        assert next(sbert.model.encoder.parameters()).device.type == "cuda"
        np.testing.assert_allclose(sbert.encode([CAPTION])[0], x_cpu, atol=1e-5)
        cuda_words = sbert.word_attributions(CAPTION, gbar, b)
    finally:
        sbert.use_device("cpu")
    for row, other in zip(cpu_words, cuda_words, strict=True):
        np.testing.assert_allclose([w.score for w in other], [w.score for w in row], atol=1e-4)


def test_the_explainer_records_the_device_that_ran() -> None:
    from test_explain_support import FakeEmbedder, LinearModel

    from textig.explain import Explainer

    explainer = Explainer(FakeEmbedder(), LinearModel(), device="cuda")
    assert explainer.settings.device == "cpu"  # an embedder without torch work
    assert explainer.explain("a dog").settings["device"] == "cpu"
