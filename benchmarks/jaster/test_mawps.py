"""jaster: mawps."""

from nejumi_plugin import jaster_benchmark

test_mawps = jaster_benchmark("mawps")
