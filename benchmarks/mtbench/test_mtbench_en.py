"""MT-Bench, English: one item per question (both turns and their judgments)."""

from nejumi_plugin import mtbench_benchmark

test_mtbench_en = mtbench_benchmark("en")
