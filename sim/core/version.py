"""The package version (one place; ``sim.__version__`` and run manifests read it)."""

__version__ = "0.16.0"
