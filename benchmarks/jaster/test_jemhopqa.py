"""jaster: jemhopqa."""

from nejumi_plugin import jaster_benchmark

test_jemhopqa = jaster_benchmark("jemhopqa")
