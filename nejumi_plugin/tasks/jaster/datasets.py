"""The jaster datasets Neo evaluates: language, category, post-processing and sample counts (docs/scoring-jaster.md)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Language = Literal["ja", "en"]
Split = Literal["test", "dev"]

# Neo's categories (EL is commented out on Neo; jsts is reported but in no category).
CATEGORIES: dict[str, tuple[str, ...]] = {
    "NLI": ("jamp_exact_match", "janli_exact_match", "jnli_exact_match", "jsem_exact_match", "jsick_exact_match"),
    "QA": ("jemhopqa_char_f1", "niilc_char_f1"),
    "RC": ("jsquad_char_f1",),
    "MC": ("jcommonsenseqa_exact_match",),
    "FA": (
        "wiki_reading_char_f1",
        "wiki_ner_set_f1",
        "wiki_dependency_set_f1",
        "wiki_pas_set_f1",
        "wiki_coreference_set_f1",
    ),
    "MR": ("mawps_exact_match",),
}

MMLU_SUBJECTS: tuple[str, ...] = (
    "abstract_algebra",
    "anatomy",
    "astronomy",
    "business_ethics",
    "clinical_knowledge",
    "college_biology",
    "college_chemistry",
    "college_computer_science",
    "college_mathematics",
    "college_medicine",
    "college_physics",
    "computer_security",
    "conceptual_physics",
    "econometrics",
    "electrical_engineering",
    "elementary_mathematics",
    "formal_logic",
    "global_facts",
    "high_school_biology",
    "high_school_chemistry",
    "high_school_computer_science",
    "high_school_european_history",
    "high_school_geography",
    "high_school_government_and_politics",
    "high_school_macroeconomics",
    "high_school_mathematics",
    "high_school_microeconomics",
    "high_school_physics",
    "high_school_psychology",
    "high_school_statistics",
    "high_school_us_history",
    "high_school_world_history",
    "human_aging",
    "human_sexuality",
    "international_law",
    "jurisprudence",
    "logical_fallacies",
    "machine_learning",
    "management",
    "marketing",
    "medical_genetics",
    "miscellaneous",
    "moral_disputes",
    "moral_scenarios",
    "nutrition",
    "philosophy",
    "prehistory",
    "professional_accounting",
    "professional_law",
    "professional_medicine",
    "professional_psychology",
    "public_relations",
    "security_studies",
    "sociology",
    "us_foreign_policy",
    "virology",
    "world_religions",
)

# Post-processing step 2: how each dataset's prediction is cleaned after the NFKC / blank-line cut.
Cleaning = Literal["label", "number", "ja_answer", "en_letter", "strip", "none"]

_CLEANING: dict[str, Cleaning] = {
    **dict.fromkeys(("jamp", "janli", "jnli", "jsem", "jsick"), "label"),
    **dict.fromkeys(("jcommonsenseqa", "mawps"), "number"),
    **dict.fromkeys(("jemhopqa", "jsquad", "niilc"), "ja_answer"),
    **dict.fromkeys(("wiki_reading", "wiki_ner", "wiki_dependency", "wiki_pas", "wiki_coreference"), "strip"),
    "jsts": "none",
}

ALL_JA: tuple[str, ...] = (
    "jamp",
    "janli",
    "jnli",
    "jsem",
    "jsick",
    "jemhopqa",
    "niilc",
    "jsquad",
    "jcommonsenseqa",
    "mawps",
    "wiki_reading",
    "wiki_ner",
    "wiki_dependency",
    "wiki_pas",
    "wiki_coreference",
)
REPORTED_JA: tuple[str, ...] = ("jsts",)  # evaluated and shown, never averaged
ALL_EN: tuple[str, ...] = tuple(f"mmlu_en_{s}" for s in MMLU_SUBJECTS)


@dataclass(frozen=True)
class DatasetSpec:
    """What the harness knows about one jaster dataset beyond its JSON file."""

    name: str
    language: Language
    cleaning: Cleaning

    @property
    def is_mmlu(self) -> bool:
        return self.name.startswith("mmlu_en")

    @property
    def is_wiki(self) -> bool:
        return "wiki" in self.name

    def max_samples(self, split: Split, testmode: bool) -> int:
        """Neo's per-split sample cap: the first N items of the file are scored."""
        if testmode:
            return 1 if self.is_mmlu else 2
        if self.is_wiki:
            return 20 if split == "test" else 5
        if self.is_mmlu:
            return 5 if split == "test" else 1
        return 100 if split == "test" else 10


def _build_registry() -> dict[str, DatasetSpec]:
    specs = {name: DatasetSpec(name, "ja", _CLEANING[name]) for name in ALL_JA + REPORTED_JA}
    specs.update({name: DatasetSpec(name, "en", "en_letter") for name in ALL_EN})
    return specs


DATASETS: dict[str, DatasetSpec] = _build_registry()


def get_spec(name: str) -> DatasetSpec:
    """The spec of dataset `name`; a clear error for a name jaster 1.2.6 does not have."""
    try:
        return DATASETS[name]
    except KeyError:
        raise KeyError(
            f"unknown jaster dataset {name!r}; known: {', '.join(ALL_JA + REPORTED_JA)}, mmlu_en_<subject>"
        ) from None


def expand_target(target: str | list[str]) -> set[str]:
    """Datasets selected by `llm_jp_eval.target_dataset` ("all", a name, "mmlu_en", or a list of those)."""
    names = [target] if isinstance(target, str) else list(target)
    selected: set[str] = set()
    for name in names:
        if name == "all":
            selected.update(DATASETS)
        elif name in ("mmlu_en", "all-en"):
            selected.update(ALL_EN)
        elif name == "all-ja":
            selected.update(ALL_JA + REPORTED_JA)
        elif name in DATASETS:
            selected.add(name)
        else:
            raise ValueError(
                f"llm_jp_eval.target_dataset: unknown dataset {name!r}; expected 'all', 'all-ja', 'all-en', "
                f"'mmlu_en' or one of {', '.join(ALL_JA + REPORTED_JA)}, mmlu_en_<subject>"
            )
    return selected
