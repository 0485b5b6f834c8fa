"""jaster: wiki_ner."""

from nejumi_plugin import jaster_benchmark

test_wiki_ner = jaster_benchmark("wiki_ner")
