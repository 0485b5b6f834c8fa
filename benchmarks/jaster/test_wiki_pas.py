"""jaster: wiki_pas."""

from nejumi_plugin import jaster_benchmark

test_wiki_pas = jaster_benchmark("wiki_pas")
