"""initspec: a specification and conformance suite for neural-network parameter initialisation."""

__version__ = "0.1.0"
