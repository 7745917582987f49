"""The second factor: one module per factor behind one interface (``base.Factor``)."""
