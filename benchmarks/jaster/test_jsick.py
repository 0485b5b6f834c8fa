"""jaster: jsick."""

from nejumi_plugin import jaster_benchmark

test_jsick = jaster_benchmark("jsick")
