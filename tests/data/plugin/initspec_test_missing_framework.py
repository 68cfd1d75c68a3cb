"""A third-party adapter whose framework is not installed."""

import initspec_no_such_framework  # noqa: F401
