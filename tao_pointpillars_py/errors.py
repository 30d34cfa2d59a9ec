"""Exceptions raised by tao_pointpillars_py; each message says what to change."""


class PointPillarsError(Exception):
    """Base class of every error this package raises on purpose."""


class ConfigError(PointPillarsError, ValueError):
    """A configuration value is missing, inconsistent or out of range."""


class ModelMetadataError(PointPillarsError):
    """A model file lacks the metadata that describes it, or the metadata is invalid."""


class ModelLoadError(PointPillarsError):
    """A model file is missing, unreadable or has an unexpected input/output contract."""


class CloudFormatError(PointPillarsError, ValueError):
    """A PointCloud2 message cannot be decoded into (x, y, z, intensity) points."""


class LabelsFormatError(PointPillarsError, ValueError):
    """A labels file does not follow the documented format."""
