"""jaster: wiki_dependency."""

from nejumi_plugin import jaster_benchmark

test_wiki_dependency = jaster_benchmark("wiki_dependency")
