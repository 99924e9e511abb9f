"""Explanation-guided knowledge distillation (Chattopadhyay et al., Grad-CAM++, WACV 2018,
section 8), for 3D CNNs.

A student is trained on its labels and, besides, to match the teacher's explanation maps:

    L = L_cross_entropy + beta * L_interpret,
    L_interpret = || L_t / ||L_t||_2  -  L_s / ||L_s||_2 ||_2,

where L_t and L_s are the teacher's and the student's maps (Grad-CAM or Grad-CAM++) of the
target class over (T, H, W). The student's map is differentiable (``create_graph=True``:
the loss reaches the student's parameters through the map's gradients); the teacher's is
computed without a graph. Maps of different resolution are resized (trilinear) to the
student's.

Example:
    >>> criterion = ExplanationLoss("gradcam++", teacher_layer="conv5b", student_layer="conv5b",
    ...                             beta=1.0)                         # doctest: +SKIP
    >>> parts = criterion(teacher, student, clips, labels)           # doctest: +SKIP
    >>> parts.total.backward(); optimizer.step()                     # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from videocam.cam import GradCAM, GradCAMPlusPlus
from videocam.cam.weights import upsample

__all__ = ["DistillLoss", "ExplanationLoss", "interpretability_loss"]

_METHODS = {"gradcam": GradCAM, "gradcam++": GradCAMPlusPlus}


def interpretability_loss(
    teacher_maps: torch.Tensor, student_maps: torch.Tensor, eps: float = 1e-12
) -> torch.Tensor:
    """The paper's L_interpret, averaged over the batch.

    Args:
        teacher_maps: (B, *S_t) maps (e.g. (B, T, H, W)); resized to the student's.
        student_maps: (B, *S_s) maps.
        eps: A map whose L2 norm is below this counts as all-zero (normalised to zeros).

    Returns:
        Scalar: mean over clips of || t / ||t|| - s / ||s|| ||_2. Zero for identical maps,
        unchanged by positive scaling of either map, at most 2.
    """
    if teacher_maps.shape[0] != student_maps.shape[0]:
        raise ValueError("teacher and student maps need the same batch size")
    size = tuple(student_maps.shape[1:])
    if tuple(teacher_maps.shape[1:]) != size:
        teacher_maps = upsample(teacher_maps.unsqueeze(1), size).squeeze(1)
    t = teacher_maps.flatten(1).to(student_maps.dtype)
    s = student_maps.flatten(1)
    t = t / t.norm(dim=1, keepdim=True).clamp_min(eps)
    s = s / s.norm(dim=1, keepdim=True).clamp_min(eps)
    return (t - s).norm(dim=1).mean()


@dataclass(frozen=True)
class DistillLoss:
    """The parts of one distillation loss evaluation.

    Attributes:
        total: L_cross_entropy + beta * L_interpret (backpropagate this).
        cross_entropy: The student's label loss.
        interpret: L_interpret (0 when beta is 0 and maps were not computed).
        logits: The student's logits (with graph).
    """

    total: torch.Tensor
    cross_entropy: torch.Tensor
    interpret: torch.Tensor
    logits: torch.Tensor


class ExplanationLoss(nn.Module):
    """Cross entropy plus beta times the interpretability loss of the paper.

    Args:
        method: ``"gradcam++"`` or ``"gradcam"``: which explanation the student matches.
        teacher_layer: The teacher's target layer.
        student_layer: The student's target layer.
        beta: Weight of L_interpret; 0 gives plain label training (no maps computed).
        target: Whose class the maps explain: ``"label"`` (the true class, default) or
            ``"teacher"`` (the teacher's prediction).
    """

    def __init__(
        self,
        method: str = "gradcam++",
        *,
        teacher_layer: str,
        student_layer: str,
        beta: float = 1.0,
        target: str = "label",
    ) -> None:
        super().__init__()
        if method not in _METHODS:
            raise ValueError(f"method must be one of {sorted(_METHODS)}, got {method!r}")
        if target not in ("label", "teacher"):
            raise ValueError(f"target must be 'label' or 'teacher', got {target!r}")
        if beta < 0:
            raise ValueError(f"beta must be >= 0, got {beta}")
        self.method = method
        self.teacher_layer = teacher_layer
        self.student_layer = student_layer
        self.beta = float(beta)
        self.target = target

    def teacher_maps(self, teacher: nn.Module, clips: torch.Tensor, classes: torch.Tensor):
        """The teacher's raw maps (B, T', H', W') of ``classes``, without a graph."""
        out = _METHODS[self.method](teacher, self.teacher_layer)(clips, target=classes)
        return out.raw[:, 0].detach()

    def forward(
        self,
        teacher: nn.Module | None,
        student: nn.Module,
        clips: torch.Tensor,
        labels: torch.Tensor,
        teacher_maps: torch.Tensor | None = None,
    ) -> DistillLoss:
        """Evaluates the loss on a batch. The student runs ONE forward pass that gives both
        its logits (for the cross entropy) and its differentiable map.

        Args:
            teacher: The teacher (borrowed: left exactly as it was, no gradients); may be
                ``None`` when ``teacher_maps`` are given.
            student: The student (its mode is the caller's; its graph is kept).
            clips: (B, 3, T, H, W) input.
            labels: (B,) class indices.
            teacher_maps: Optional precomputed teacher maps (B, T', H', W') of the
                classes the loss explains (e.g. cached once per training clip with
                :meth:`teacher_maps`); the teacher is then not run at all.
        """
        if self.beta == 0:
            logits = student(clips)
            ce = F.cross_entropy(logits, labels)
            return DistillLoss(ce, ce, torch.zeros((), device=ce.device), logits)
        if teacher_maps is not None:
            if teacher_maps.shape[0] != clips.shape[0]:
                raise ValueError(
                    f"teacher_maps has {teacher_maps.shape[0]} clips, the batch {clips.shape[0]}"
                )
            if self.target == "teacher":
                raise ValueError("precomputed teacher_maps need target='label'")
            classes, target_maps = labels, teacher_maps.detach()
        else:
            if teacher is None:
                raise ValueError("give the teacher or its precomputed teacher_maps")
            if self.target == "teacher":
                with torch.no_grad():
                    classes = teacher(clips).argmax(1)
            else:
                classes = labels
            target_maps = self.teacher_maps(teacher, clips, classes)
        out = _METHODS[self.method](student, self.student_layer)(
            clips, target=classes, create_graph=True
        )
        ce = F.cross_entropy(out.logits, labels)
        interpret = interpretability_loss(target_maps, out.raw[:, 0])
        return DistillLoss(ce + self.beta * interpret, ce, interpret, out.logits)
