"""jaster: jnli."""

from nejumi_plugin import jaster_benchmark

test_jnli = jaster_benchmark("jnli")
