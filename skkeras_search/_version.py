"""The release number alone, so that ``setup.cfg`` reads it without importing the package."""

__version__ = "0.3.0"
