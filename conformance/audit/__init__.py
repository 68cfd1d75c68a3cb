"""``initspec audit``: what a whole model initialises to, and whether a port of it matches.

An adapter hook (``audit_draws`` in ``initspec.adapters.<framework>``) builds the model once per
seed and returns every parameter and buffer as :class:`~initspec.audit.draws.ParamDraw` (numpy
arrays and what the framework says about their layer; no statistics). Everything else here is
numpy/scipy only: :mod:`identify` names each distribution, :mod:`model` matches it with the
framework's spec entry and raises the flags, :mod:`compare` tests two audits against each other.
"""
