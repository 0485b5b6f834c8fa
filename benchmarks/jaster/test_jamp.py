"""jaster: jamp."""

from nejumi_plugin import jaster_benchmark

test_jamp = jaster_benchmark("jamp")
