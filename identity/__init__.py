"""Robot Overlord Identity: token server and the verifier library for sibling services."""

__version__ = "0.1.0"
