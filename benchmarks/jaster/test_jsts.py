"""JSTS: sentence similarity, reported as pearson/spearman and never averaged into AVG."""

from nejumi_plugin import jaster_benchmark

test_jsts = jaster_benchmark("jsts")
