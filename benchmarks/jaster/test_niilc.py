"""jaster: niilc."""

from nejumi_plugin import jaster_benchmark

test_niilc = jaster_benchmark("niilc")
