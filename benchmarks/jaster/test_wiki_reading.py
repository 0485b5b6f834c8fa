"""jaster: wiki_reading."""

from nejumi_plugin import jaster_benchmark

test_wiki_reading = jaster_benchmark("wiki_reading")
