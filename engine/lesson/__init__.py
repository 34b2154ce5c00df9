"""Chapter 5's teaching tools, on top of the training application: the chapter's preset
experiments, the exact loss landscape of the line, and the three-way gradient check
(finite differences, closed form, autograd)."""
