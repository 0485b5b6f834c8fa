"""jaster: jsquad."""

from nejumi_plugin import jaster_benchmark

test_jsquad = jaster_benchmark("jsquad")
