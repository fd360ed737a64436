"""The exercise templates: `tinygrad-edu exercises start DIR` copies them into a
student's course folder. Each is one exercise, with the math in its docstring."""
