"""What lecture 07 (train your own CLIP) says, checked.

- The lecture's own `my_contrastive_loss` is the `mmembed.training.contrastive_loss` its training loop uses, and with
  one answer per row (the identity matrix) it is CLIP's loss (cross-entropy both ways, averaged): checked directly on
  the function as the saved notebook defines it.
- The `slow` tests read the lecture's one offline run: the hand-made logits and losses it prints agree with the
  model's own, the logit scale starts at 1 / 0.07, and the untrained loss is near ln 8.
- What the lecture says about the real CLIP (section 7.3) is checked online in test_real_clip_claims.py.
"""

import ast
import math
import re

import nbformat
import pytest
import torch
import torch.nn.functional as F

from mmembed.training import contrastive_loss
from tests.helpers import cell_text
from tests.lectures.conftest import executed_lecture, lecture_group, lecture_path

NOTEBOOK = lecture_path("07")


def lecture_function(name):
    """The function `name` as the saved notebook defines it, compiled on its own."""
    for cell in nbformat.read(NOTEBOOK, as_version=4).cells:
        if cell.cell_type == "code" and f"def {name}(" in cell.source:
            tree = ast.parse(cell.source)
            wanted = [node for node in tree.body if isinstance(node, ast.FunctionDef) and node.name == name]
            namespace = {"F": F, "torch": torch}
            exec(compile(ast.Module(wanted, type_ignores=[]), NOTEBOOK.name, "exec"), namespace)
            return namespace[name]
    raise LookupError(name)


def reads_the_lecture_run(test):
    return pytest.mark.slow(pytest.mark.xdist_group(lecture_group(NOTEBOOK))(test))


def number(pattern, text):
    return float(re.search(pattern, text).group(1))


@pytest.fixture(scope="module")
def nb():
    return executed_lecture(NOTEBOOK)[0]


def test_the_lectures_loss_is_the_one_training_uses_and_clips_for_one_answer():
    """Section 4.3: my_contrastive_loss == mmembed.training.contrastive_loss, on several answers per row and on
    the identity matrix; with the identity it equals (CE(logits, arange) + CE(logits.T, arange)) / 2."""
    my_contrastive_loss = lecture_function("my_contrastive_loss")
    generator = torch.Generator().manual_seed(0)
    logits = torch.randn(6, 6, generator=generator) * 5
    several = torch.eye(6)
    several[0, 1] = several[1, 0] = several[1, 1] = several[0, 0] = 1  # two captions describe pictures 0 and 1
    for targets in (several, torch.eye(6)):
        assert torch.allclose(my_contrastive_loss(logits, targets), contrastive_loss(logits, targets), atol=1e-6)
    labels = torch.arange(6)
    clip = (F.cross_entropy(logits, labels) + F.cross_entropy(logits.T, labels)) / 2
    assert torch.allclose(my_contrastive_loss(logits, torch.eye(6)), clip, atol=1e-6)


@reads_the_lecture_run
def test_logits_and_losses_printed_agree_with_the_models(nb):
    """Sections 4.1-4.3: the hand-made logits are the model's, logits_per_image is the transpose; the loss with
    labels, with the identity matrix and CLIPModel's return_loss agree and start near ln 8; the lecture's loss and
    mmembed's agree; the logit scale starts at 1 / 0.07."""
    logits = cell_text(nb, "logits_per_text = scale * text_embeds @ image_embeds.T")
    assert "직접 계산 == 모델의 logits_per_text: True" in logits
    assert "logits_per_image == logits_per_text.T: True" in logits
    assert number(r"logit_scale\.exp\(\) = (\d+\.\d+)", logits) == pytest.approx(1 / 0.07, abs=0.01)

    losses = cell_text(nb, "clip_loss = (loss_text_to_image + loss_image_to_text) / 2")
    with_labels = number(r"CLIP loss \(labels 0\.\.7\)\s+: (\d+\.\d+)", losses)
    assert number(r"CLIP loss \(identity matrix\): (\d+\.\d+)", losses) == with_labels
    assert number(r"Hugging Face CLIPModel loss: (\d+\.\d+)", losses) == pytest.approx(with_labels, abs=1e-4)
    assert with_labels == pytest.approx(math.log(8), abs=0.15)

    mine = cell_text(nb, "def my_contrastive_loss(")
    assert number(r"my_contrastive_loss\s+: (\d+\.\d+)", mine) == number(r"contrastive_loss: (\d+\.\d+)", mine)
    single = re.search(r"단위 행렬을 정답으로 주면\s+: (\d+\.\d+)  \(4\.2절의 CLIP 손실: (\d+\.\d+)\)", mine)
    assert single.group(1) == single.group(2) == f"{with_labels:.4f}"


@reads_the_lecture_run
def test_training_finds_the_diagonal(nb):
    """Section 5: after 300 steps on 8 pictures, most captions find their own picture first."""
    hits = re.findall(r"자기 사진을 1등으로 찾은 캡션: (\d) / 8", cell_text(nb, "사진 8장으로 {steps} 스텝 학습한 뒤"))
    assert len(hits) == 1 and int(hits[0]) >= 6
