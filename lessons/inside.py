"""Lesson `inside`: planned; the page says so plainly until it is built."""

from ui.frame import guarded, not_built_yet

guarded(lambda: not_built_yet("inside"))
