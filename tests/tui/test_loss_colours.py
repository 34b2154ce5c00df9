"""The landscape's colour map and contour lines, on plain numbers."""
from __future__ import annotations

import numpy as np
import pytest

from tui.loss_colours import (VIRIDIS, LogScale, colour_at, contour_cells, contour_directions,
                              contour_levels, hex_colour, luminance, nice_step)


def test_the_colour_map_runs_from_viridis_dark_end_to_its_bright_end():
    assert hex_colour(colour_at(0.0)) == "#440154" == VIRIDIS[0]
    assert hex_colour(colour_at(1.0)) == "#fde725" == VIRIDIS[-1]
    assert hex_colour(colour_at(0.5)) == "#21918c"  # a stop: no interpolation
    assert hex_colour(colour_at(-3.0)) == "#440154" and hex_colour(colour_at(7.0)) == "#fde725"
    assert hex_colour(colour_at(float("nan"))) == "#440154"


def test_luminance_is_the_wcag_formula():
    assert luminance([255, 255, 255]) == pytest.approx(1.0) and luminance([0, 0, 0]) == 0.0
    assert luminance([0, 255, 0]) == pytest.approx(0.7152)
    assert luminance([128, 128, 128]) == pytest.approx(0.21586, abs=1e-5)  # sRGB 128 is 21.6% light
    assert luminance([10, 10, 10]) == pytest.approx(10 / 255 / 12.92)  # the straight part near black
    assert colour_at(0.3).dtype == np.uint8 and colour_at([0.1, 0.2]).shape == (2, 3)


def test_brighter_means_higher_all_the_way_along_the_map():
    light = luminance(colour_at(np.linspace(0.0, 1.0, 401)))
    # rounding each channel to 8 bits can make a neighbour a hair darker (0.04% of the range)
    assert np.all(np.diff(light) > -5e-4)
    assert np.all(np.diff(luminance(colour_at(np.linspace(0.0, 1.0, 41)))) > 0)
    assert light[0] < 0.05 and light[-1] > 0.7  # a wide range: readable in greyscale too


def test_the_log_scale_gives_each_decade_the_same_share():
    scale = LogScale(1.0, 1000.0)
    assert scale.position(1.0) == 0.0 and scale.position(1000.0) == 1.0
    assert scale.position(10.0) == pytest.approx(1 / 3, abs=1e-12)
    assert scale.position(100.0) == pytest.approx(2 / 3, abs=1e-12)
    losses = np.geomspace(0.5, 5000.0, 200)
    assert np.all(np.diff(scale.position(losses)) >= 0)
    assert scale.position(0.5) == 0.0 and scale.position(5000.0) == 1.0  # off the scale: its ends


def test_a_scale_below_one_or_under_a_decade_wide_spans_the_whole_map():
    assert LogScale(0.001, 0.1).position(0.01) == pytest.approx(0.5)
    narrow = LogScale(2.9, 3.1)
    assert narrow.position(2.9) == 0.0 and narrow.position(3.1) == pytest.approx(1.0)
    assert LogScale(5.0, 5.0).position(5.0) == 0.0  # one value: the bottom colour, not NaN


def test_a_loss_of_zero_starts_the_scale_four_decades_below_the_top():
    scale = LogScale(0.0, 500.0)
    assert scale.low == pytest.approx(0.05)
    assert scale.position(0.0) == 0.0 and scale.position(0.05) == 0.0
    assert scale.position(5.0) == pytest.approx(0.5)


def test_contour_levels_are_round_values_spread_on_a_log_scale():
    # the thermometer's raw window: from its minimum 2.93 up the walls to 2,600
    assert contour_levels(2.93, 2600.0, 6) == [3, 10, 30, 100, 300, 1000]
    assert contour_levels(2.93, 2600.0, 3) == [10, 100, 1000]
    assert contour_levels(3.5, 2600.0, 9) == [5, 10, 20, 50, 100, 200, 500, 1000, 2000]
    assert contour_levels(1.0, 10.0, 6) == [1.5, 2, 3, 5, 7]  # strictly inside
    assert contour_levels(0.02, 0.9, 6) == [0.05, 0.1, 0.2, 0.5]  # 1-1.5-2-3-5-7 would be 9


def test_a_narrow_range_gets_evenly_spaced_levels():
    # zoomed in near the minimum: the loss changes by a few per cent
    assert contour_levels(2.928, 3.1, 6) == [2.95, 3.0, 3.05]
    assert contour_levels(2.928, 2.93, 6) == [2.9285, 2.929, 2.9295]
    assert contour_levels(5.0, 5.0, 6) == [] and contour_levels(1.0, float("inf"), 6) == []
    assert contour_levels(0.0, 10.0, 6) == [2, 4, 6, 8]  # no logarithm of 0: evenly spaced
    assert contour_levels(0.0, 1.3, 6) == [0.2, 0.4, 0.6, 0.8, 1.0, 1.2]
    assert contour_levels(2.9, 3.1, 1) == [3.0]  # one level: the round value in the middle


def test_nice_steps_are_1_2_5_times_a_power_of_ten():
    assert [nice_step(r) for r in (0.2, 0.21, 1.0, 3.0, 7.0, 10.0, 0.0031)] == [0.2, 0.5, 1, 5, 10, 10, 0.005]
    assert nice_step(0.0) == 1.0 and nice_step(-1.0) == 1.0 and nice_step(float("inf")) == 1.0


def test_a_contour_line_is_one_cell_wide_on_the_nearer_side_of_its_level():
    loss = np.tile(np.arange(1.0, 11.0), (4, 1))  # 1..10 left to right, on every row
    found = contour_cells(loss, [5.5])
    # log 5.5 is nearer log 6 (column 5) than log 5 (column 4)
    assert np.array_equal(np.argwhere(found == 0)[:, 1], [5, 5, 5, 5])
    assert np.count_nonzero(found >= 0) == 4
    found = contour_cells(loss, [2.0, 7.0])
    assert set(map(tuple, np.argwhere(found == 0))) == {(r, 1) for r in range(4)}  # exactly on 2: that cell
    assert set(map(tuple, np.argwhere(found == 1))) == {(r, 6) for r in range(4)}


def test_contour_lines_below_a_loss_of_one_and_where_two_levels_meet():
    loss = np.tile([0.01, 0.02, 0.05, 0.1], (3, 1))
    found = contour_cells(loss, [0.03])
    assert np.array_equal(found, np.tile([-1, 0, -1, -1], (3, 1)))  # log 0.03 is nearer log 0.02
    found = contour_cells(np.tile([1.0, 10.0], (2, 1)), [1.5, 2.0])
    assert np.array_equal(found[:, 0], [0, 0])  # both nearer the first cell: the lower level keeps it
    assert np.array_equal(found[:, 1], [-1, -1])


def test_a_closed_contour_goes_all_the_way_round_a_bowl():
    columns, rows = np.meshgrid(np.arange(21.0), np.arange(11.0))
    loss = 1.0 + (columns - 10) ** 2 + (2 * (rows - 5)) ** 2  # round on screen: rows are twice as tall
    found = contour_cells(loss, [50.0])
    ring = np.argwhere(found == 0)
    distance = np.hypot(ring[:, 1] - 10, 2 * (ring[:, 0] - 5))
    assert np.all(np.abs(distance - 7.0) < 1.6)  # sqrt(49) = 7 from the centre
    # on the axes, the cell nearer the level: 1 + 49 = 50 exactly at 7 columns out; 1 + 64 = 65
    # (4 rows up) is nearer 50 than 1 + 36 = 37 (3 rows up), in log loss
    assert {tuple(p) for p in ring} >= {(5, 3), (5, 17), (1, 10), (9, 10)}  # left, right, top, bottom


def test_contour_glyphs_follow_the_level_lines():
    columns, rows = np.meshgrid(np.arange(8.0), np.arange(6.0))
    assert np.all(contour_directions(np.exp(columns)) == 2)  # loss grows to the right: lines run up │
    assert np.all(contour_directions(np.exp(rows)) == 0)  # grows downwards: lines run across ─
    # grows to the right and down, 1 per column and 2 per row (1 per unit of screen height):
    # the lines rise to the right at 45 degrees on screen: ╱
    assert np.all(contour_directions(np.exp(columns + 2 * rows)) == 1)
    assert np.all(contour_directions(np.exp(columns - 2 * rows)) == 3)  # ╲
    assert np.all(contour_directions(np.exp(columns[:2])) == 2)  # two rows are enough
    assert np.array_equal(contour_directions(np.ones((1, 5))), np.zeros((1, 5)))  # one row has no slope


@pytest.mark.parametrize("angle, direction", [
    (0, 0), (25, 0), (31.4, 0), (32.0, 1), (63, 1), (76.4, 1), (77.0, 2), (90, 2), (103.0, 2),
    (103.6, 3), (117, 3), (148.0, 3), (148.6, 0), (170, 0), (-32, 3), (-10, 0)])
def test_contour_directions_split_at_the_glyphs_own_slopes(angle, direction):
    """A ╱ in a 1 x 2 cell climbs at atan(2) = 63.4 degrees; the cuts sit halfway between the
    glyphs: 31.7, 76.7, 103.3, 148.3 degrees."""
    columns, rows = np.meshgrid(np.arange(6.0), np.arange(5.0))
    theta = np.radians(angle)
    # log loss grows by sin(theta) per column and 2 cos(theta) per row (cos(theta) per unit of
    # screen height): its level lines run at `angle` on screen
    loss = 10.0 ** (np.sin(theta) * columns + 2 * np.cos(theta) * rows)
    assert np.all(contour_directions(loss) == direction)
