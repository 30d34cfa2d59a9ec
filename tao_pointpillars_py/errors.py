# Copyright 2026 tao_pointpillars_py developers
#
# Licensed under the Apache License, Version 2.0 (the "License");
# you may not use this file except in compliance with the License.
# You may obtain a copy of the License at
#
#     http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS,
# WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
# See the License for the specific language governing permissions and
# limitations under the License.

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
