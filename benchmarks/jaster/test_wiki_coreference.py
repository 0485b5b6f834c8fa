"""jaster: wiki_coreference."""

from nejumi_plugin import jaster_benchmark

test_wiki_coreference = jaster_benchmark("wiki_coreference")
