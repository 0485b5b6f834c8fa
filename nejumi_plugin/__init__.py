"""nejumi: a pytest-native harness that scores LLMs for the Nejumi Leaderboard Neo."""

from .benchmark import jaster_benchmark, mtbench_benchmark

__all__ = ["jaster_benchmark", "mtbench_benchmark"]
