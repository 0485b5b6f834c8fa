"""jaster: jsem."""

from nejumi_plugin import jaster_benchmark

test_jsem = jaster_benchmark("jsem")
