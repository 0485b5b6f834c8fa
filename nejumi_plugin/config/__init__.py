"""Run configuration: Neo's config.yaml schema and its loader."""

from .loader import ConfigError, load_config
from .schema import RunConfig

__all__ = ["ConfigError", "RunConfig", "load_config"]
