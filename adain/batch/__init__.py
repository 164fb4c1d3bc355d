"""Many pictures at once (``adain stylize`` on files and folders): ``jobs`` plans which
results to make and runs them; ``grid`` draws the contact sheet of a run."""
