"""Explanation-guided distillation: the loss and one training step."""

from __future__ import annotations

import pytest
import torch

from videocam.distill import ExplanationLoss, interpretability_loss
from videocam.models import C3D


def test_loss_is_zero_for_identical_maps_and_scale_invariant():
    torch.manual_seed(0)
    maps = torch.rand(3, 2, 7, 7)
    assert interpretability_loss(maps, maps).item() == pytest.approx(0.0, abs=1e-7)
    other = torch.rand(3, 2, 7, 7)
    base = interpretability_loss(maps, other)
    assert base > 0
    assert interpretability_loss(maps * 7.5, other).item() == pytest.approx(base.item(), rel=1e-6)
    assert interpretability_loss(maps, other * 0.01).item() == pytest.approx(base.item(), rel=1e-6)


def test_loss_hand_computed_and_resized_to_the_student():
    teacher = torch.tensor([[[[3.0, 0.0], [0.0, 4.0]]]])  # norm 5
    student = torch.tensor([[[[0.0, 1.0], [0.0, 0.0]]]])  # norm 1
    # || (0.6, 0, 0, 0.8) - (0, 1, 0, 0) || = sqrt(0.36 + 1 + 0.64) = sqrt(2)
    assert interpretability_loss(teacher, student).item() == pytest.approx(2**0.5)
    coarse = torch.ones(1, 1, 2, 2)
    fine = torch.ones(1, 2, 4, 4)
    assert interpretability_loss(coarse, fine).item() == pytest.approx(0.0, abs=1e-6)


def test_all_zero_maps_are_defined():
    zero = torch.zeros(2, 1, 3, 3)
    assert interpretability_loss(zero, zero).item() == 0.0
    assert torch.isfinite(interpretability_loss(zero, torch.rand(2, 1, 3, 3)))


@pytest.mark.parametrize("method", ["gradcam", "gradcam++"])
def test_one_training_step_moves_the_student_and_not_the_teacher(method):
    torch.manual_seed(0)
    teacher = C3D(
        num_classes=3, widths=(4, 4, 8, 8, 8, 8, 8, 8), batch_norm=True, head="gap"
    ).eval()
    student = C3D(
        num_classes=3, widths=(2, 2, 4, 4, 4, 4, 4, 4), batch_norm=True, head="gap"
    ).train()
    teacher_state = {k: v.clone() for k, v in teacher.state_dict().items()}
    student_before = {k: v.clone() for k, v in student.named_parameters()}
    criterion = ExplanationLoss(method, teacher_layer="conv5b", student_layer="conv4b", beta=10.0)
    optimizer = torch.optim.SGD(student.parameters(), lr=0.1)
    clips, labels = torch.rand(2, 3, 16, 32, 32), torch.tensor([0, 2])
    parts = criterion(teacher, student, clips, labels)
    assert parts.interpret > 0 and parts.total.item() == pytest.approx(
        parts.cross_entropy.item() + 10.0 * parts.interpret.item(), rel=1e-5
    )
    optimizer.zero_grad()
    parts.total.backward()
    # the interpretability term itself reaches the student's convolutions
    (interp_grad,) = torch.autograd.grad(
        criterion(teacher, student, clips, labels).interpret, [student.conv3a.weight]
    )
    assert interp_grad.abs().sum() > 0
    optimizer.step()
    assert any(not torch.equal(student_before[k], v) for k, v in student.named_parameters())
    for k, v in teacher.state_dict().items():
        assert torch.equal(teacher_state[k], v), k
    assert all(p.grad is None for p in teacher.parameters())
    assert all(p.requires_grad for p in teacher.parameters())
    assert not teacher.training and student.training
    assert all(not m._forward_hooks for m in (*teacher.modules(), *student.modules()))


def test_beta_zero_is_plain_cross_entropy():
    torch.manual_seed(0)
    model = C3D(num_classes=3, widths=(2,) * 8, head="gap").eval()
    criterion = ExplanationLoss("gradcam++", teacher_layer="conv5b", student_layer="conv5b", beta=0)
    clips, labels = torch.rand(2, 3, 16, 32, 32), torch.tensor([0, 1])
    parts = criterion(model, model, clips, labels)
    expected = torch.nn.functional.cross_entropy(model(clips), labels)
    assert parts.total.item() == pytest.approx(expected.item(), rel=1e-6)


def test_precomputed_teacher_maps_give_the_same_loss():
    torch.manual_seed(0)
    teacher = C3D(num_classes=3, widths=(4,) * 8, batch_norm=True, head="gap").eval()
    student = C3D(num_classes=3, widths=(2,) * 8, batch_norm=True, head="gap").eval()
    criterion = ExplanationLoss("gradcam++", teacher_layer="conv4b", student_layer="conv5b")
    clips, labels = torch.rand(2, 3, 16, 32, 32), torch.tensor([1, 2])
    cached = criterion.teacher_maps(teacher, clips, labels)
    direct = criterion(teacher, student, clips, labels)
    reused = criterion(None, student, clips, labels, teacher_maps=cached)
    assert reused.interpret.item() == pytest.approx(direct.interpret.item(), rel=1e-6)
    with pytest.raises(ValueError, match="clips"):
        criterion(None, student, clips, labels, teacher_maps=cached[:1])
