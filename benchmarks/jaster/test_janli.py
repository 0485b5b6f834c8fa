"""jaster: janli."""

from nejumi_plugin import jaster_benchmark

test_janli = jaster_benchmark("janli")
