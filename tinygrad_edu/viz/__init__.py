"""Seeing what happens: computation graphs (Graphviz) and training plots (matplotlib).

- `graph.py`: `draw_graph`, `to_dot`, `render`.
- `plots.py`: `plot_loss`, `plot_decision_boundary`.
"""

from .explain import BackwardTable, explain_backward
from .graph import draw_graph, render, to_dot, trace
from .plots import plot_decision_boundary, plot_loss, predict_classes
