"""Framework adapters: one module per framework, numpy samples out, no statistics."""
