"""Seeing what happens: computation graphs (Graphviz) and training plots (matplotlib).

- `graph.py`: `draw_graph`, `to_dot`, `render`.
- `explain.py`: `explain_backward`, the backward pass as a table.
- `explore.py`: `explore`, the graph as a page that steps through backward.
- `expression.py`: `parse_expression`, formulas read safely for `tinygrad-edu graph`.
- `plots.py`: `plot_loss`, `plot_decision_boundary`.
"""

from .explain import BackwardTable, explain_backward
from .explore import Explorer, explore
from .expression import ExpressionError, parse_expression, variable_names
from .graph import draw_graph, render, to_dot, trace
from .plots import plot_decision_boundary, plot_loss, predict_classes
