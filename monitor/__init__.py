"""Fenghuo (烽火): public-opinion monitoring with blue/yellow/orange/red warning levels."""

__version__ = "0.1.0"
