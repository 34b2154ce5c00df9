"""Kepler's seven steps, as chapter 5 frames modelling, each tied to one of the presets.

The words are ours: a few lines on what the step is, the preset that sets it up, and which
keys to press to see it.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LessonStep:
    title: str
    explanation: str
    preset: str  # engine.lesson.presets key this step starts from
    keys: str  # what to press, once the step is set up


STEPS: tuple[LessonStep, ...] = (
    LessonStep(
        "Collect data",
        "Kepler had Brahe's observations; we have 11 readings of a thermometer whose unit we do "
        "not know (t_u), each next to the temperature in Celsius (t_c). Nothing is learned yet: "
        "the data is all there is.",
        "start",
        "Look at the dots in the Fit panel: 11 points, t_u across, t_c up.",
    ),
    LessonStep(
        "Visualise it",
        "Before choosing a model, look. The points rise together and lie close to a straight "
        "line, with a little noise: the thermometer is cheap and we read it by eye.",
        "start",
        "Look at the Fit panel; l switches the loss axis to log scale for later.",
    ),
    LessonStep(
        "Pick the simplest model",
        "A line, t_c = w * t_u + b, starting from w = 1, b = 0. Its mean squared error over the "
        "points is the loss: 1763.88 at the start. The gradient says how the loss changes as w "
        "and b move.",
        "start",
        "g: the gradient three ways (finite differences, closed form, autograd). w: the loss landscape.",
    ),
    LessonStep(
        "Split into training and validation",
        "Keep some points back. The model learns from nine; the two it never sees tell us whether "
        "it learned the relation or memorised the nine.",
        "split",
        "v changes how many points are held out; s draws a different split.",
    ),
    LessonStep(
        "Fit over time",
        "Start from the initial parameters and step downhill: each epoch moves w and b against "
        "the gradient, scaled by the learning rate. The chapter's first try, lr = 1e-2 on the raw "
        "readings, blows up: the gradient for w is 57 times the one for b, so a step that suits b "
        "overshoots in w, and the loss is inf at epoch 11. On 0.1 * t_u the steps are balanced "
        "and the same rate brings the loss down to 2.9276.",
        "normalise",
        "space trains (n: one epoch, , steps back); k pins this run. z then space: the raw "
        "readings at the same rate, until the Diverged panel offers 1 2 3.",
    ),
    LessonStep(
        "Validate",
        "Train on the nine, then ask the two held-out points. A validation loss close to the "
        "training loss (3.576 against 3.013 after 3,000 epochs) says the line generalises.",
        "split",
        "space trains; the Train/val panel shows both losses and the gap between them.",
    ),
    LessonStep(
        "Look back in disbelief",
        "The book's seventh step is Kepler looking back, hardly believing it, at a model that "
        "worked: an ellipse fitted to part of Brahe's observations placed the planet where the "
        "rest of them said it was. Ours is as plain: two numbers found by stepping downhill turn "
        "the unknown unit into Celsius. The chapter also warns the other way: a model with too "
        "much freedom memorises its training points instead.",
        "normalise",
        "space trains: the Fit panel ends at t_c = 0.5367 · t_u - 17.3012 (the Parameters panel: "
        "w 5.3671, b -17.3012). p, 7: the network that memorises.",
    ),
)
