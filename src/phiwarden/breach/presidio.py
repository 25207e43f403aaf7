"""Presidio as the recognizer framework: phiwarden's recognizers registered in a Presidio
``AnalyzerEngine``, and plain Presidio (its default recognizers) for comparison.

Presidio would download a spaCy model; phiwarden needs no NER, so it saves
``spacy.blank("en")`` once to a cache folder and gives Presidio that path. Presidio's
e-mail recognizer asks tldextract for the public-suffix list, which would be fetched from
the internet: tldextract is given no URLs and its bundled snapshot.

The scan's default is the fast path (``recognizers.recognize`` called directly, in a
process pool), which finds the same values as the Presidio-hosted recognizer; choose
``presidio`` to run every text through the AnalyzerEngine.
"""

from __future__ import annotations

import functools
import os
import tempfile
from pathlib import Path
from typing import Any

from phiwarden.breach.recognizers import Hit, recognize

#: Presidio's entity names for phiwarden's elements
ENTITIES = {
    "ssn": "US_SSN",
    "dob": "DATE_OF_BIRTH",
    "mrn": "MEDICAL_RECORD_NUMBER",
    "insurance": "INSURANCE_MEMBER_ID",
    "drivers_license": "US_DRIVER_LICENSE",
    "phone": "PHONE_NUMBER",
    "email": "EMAIL_ADDRESS",
    "address": "STREET_ADDRESS",
    "clinical": "DIAGNOSIS_CODE",
}
#: plain Presidio's entities, read as phiwarden's elements (a date is any DATE_TIME)
PLAIN = {
    "US_SSN": "ssn",
    "DATE_TIME": "dob",
    "US_DRIVER_LICENSE": "drivers_license",
    "PHONE_NUMBER": "phone",
    "EMAIL_ADDRESS": "email",
    "US_BANK_NUMBER": "financial_account",
    "CREDIT_CARD": "financial_account",
    "MEDICAL_LICENSE": "clinical",
}


def _cache() -> Path:
    return Path(os.environ.get("PHIWARDEN_CACHE_DIR") or Path.home() / ".cache" / "phiwarden")


def blank_model() -> Path:
    """The folder of a blank English spaCy pipeline, saved on first use."""
    import spacy

    target = _cache() / "spacy-blank-en"
    if not (target / "config.cfg").exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
            spacy.blank("en").to_disk(Path(tmp) / "model")
            try:
                (Path(tmp) / "model").rename(target)
            except OSError:
                if not (target / "config.cfg").exists():
                    raise
    return target


def _offline_tldextract() -> None:
    import tldextract

    tldextract.extract = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)  # type: ignore[assignment]


def _engine(registry: Any) -> Any:
    from presidio_analyzer import AnalyzerEngine
    from presidio_analyzer.nlp_engine import NlpEngineProvider

    _offline_tldextract()
    provider = NlpEngineProvider(
        nlp_configuration={
            "nlp_engine_name": "spacy",
            "models": [{"lang_code": "en", "model_name": str(blank_model())}],
        }
    )
    return AnalyzerEngine(
        registry=registry, nlp_engine=provider.create_engine(), supported_languages=["en"]
    )


def _recognizer_class() -> Any:
    from presidio_analyzer import EntityRecognizer, RecognizerResult

    class PhiwardenRecognizer(EntityRecognizer):
        """phiwarden's recognizers (SSN with the SSA's rules, DOB, MRN, member id,
        driver's licence, phone, e-mail, address, diagnosis codes, each needing its
        cue) as one Presidio recognizer."""

        def __init__(self, mrn_pattern: str) -> None:
            self.mrn_pattern = mrn_pattern
            super().__init__(
                supported_entities=list(ENTITIES.values()), name="phiwarden", version="1"
            )

        def load(self) -> None:
            """Nothing to load: the patterns are compiled at import."""

        def analyze(self, text: str, entities: list[str], nlp_artifacts: Any = None) -> list[Any]:
            return [
                RecognizerResult(ENTITIES[h.element], h.start, h.end, h.score)
                for h in recognize(text, self.mrn_pattern)
                if ENTITIES[h.element] in entities
            ]

    return PhiwardenRecognizer


@functools.cache
def analyzer(mrn_pattern: str = r"\d{6,10}") -> Any:
    """A Presidio AnalyzerEngine with phiwarden's recognizers only."""
    from presidio_analyzer import RecognizerRegistry

    registry = RecognizerRegistry(supported_languages=["en"])
    registry.add_recognizer(_recognizer_class()(mrn_pattern))
    return _engine(registry)


@functools.cache
def plain_analyzer() -> Any:
    """Plain Presidio: its default recognizers, no NLP model."""
    from presidio_analyzer import RecognizerRegistry

    registry = RecognizerRegistry(supported_languages=["en"])
    registry.load_predefined_recognizers(languages=["en"])
    return _engine(registry)


def presidio_hits(text: str, mrn_pattern: str = r"\d{6,10}") -> list[Hit]:
    """phiwarden's recognizers run through Presidio's AnalyzerEngine."""
    element = {v: k for k, v in ENTITIES.items()}
    results = analyzer(mrn_pattern).analyze(text=text, language="en")
    hits = [
        Hit(element[r.entity_type], r.start, r.end, text[r.start : r.end], r.score) for r in results
    ]
    return sorted(hits, key=lambda h: h.start)


def plain_hits(text: str) -> list[Hit]:
    """Plain Presidio's findings, as phiwarden's elements (what it has no entity for is
    dropped)."""
    results = plain_analyzer().analyze(text=text, language="en")
    hits = [
        Hit(PLAIN[r.entity_type], r.start, r.end, text[r.start : r.end], r.score)
        for r in results
        if r.entity_type in PLAIN
    ]
    return sorted(hits, key=lambda h: h.start)
