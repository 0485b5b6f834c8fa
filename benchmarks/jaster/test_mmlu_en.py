"""jaster all-en: the 57 MMLU subjects (5 test / 1 dev items each)."""

from nejumi_plugin import jaster_benchmark
from nejumi_plugin.tasks.jaster.datasets import ALL_EN

test_mmlu_en = jaster_benchmark(*ALL_EN)
