"""jaster: jcommonsenseqa."""

from nejumi_plugin import jaster_benchmark

test_jcommonsenseqa = jaster_benchmark("jcommonsenseqa")
