"""The social care taxonomy: a post's categories and text → canonical topics (issue 5).

Pure: no I/O except reading the taxonomy files, no store, no Textual. The poller calls
:meth:`Taxonomy.classify` on every post it writes and the cache re-tags everything with it
when the taxonomy changes, so it is built for speed: about 1.3 µs of CPU a post whose
categories decide, 12 µs inferring from a title and a 300-character summary (measured on
the 2-core dev box, issue 5), so 100k posts re-tag in one to two seconds.

How a post gets its topics
--------------------------
1. **Categories first.** Each category string (the blog's own filing) maps to zero or more
   topics: an exact alias ("Finance & funding" → Funding and finance), else nothing if it is
   a generic category ("News", "Uncategorized"), else every topic whose patterns, category
   patterns or longer aliases occur in it ("Mental health and social care funding" →
   Mental health, Funding and finance, Adult social care). Results are cached per distinct
   category string.
2. **Inference only where the categories name no topic at all** (no categories, only
   generic ones, or only ones outside the taxonomy such as "Sport"): patterns found in the
   title count 2, each distinct one in the summary 1, and a topic needs 2. So one mention
   of "NHS" in a summary (or three of "Facebook" in its share links) does not make a post
   about that topic; the same word in the title does. Such topics are ``inferred=True``.

Results are in taxonomy order. Matching folds case, accents and punctuation, reads "&" as
"and", splits a camelCase category that otherwise matches nothing ("MentalHealth"), and
strips plural endings crudely ("carers'" = "carer", "policies" = "policy"). At each word
the longest known phrase wins and its words are used up, so "children's social care" is
Children and families only and "mental capacity" is Policy and law, not Mental health.
Hostile text is cut before matching (see the ``*_CAP`` constants), so a 5 MB title costs
what a 1 kB one does.

The user's topics.toml
----------------------
Lives in carefeed's config folder; the bundled ``carefeed/topics.toml`` uses the same
format. Every key is optional; an unknown key, a wrong type or invalid TOML is a
:class:`~carefeed.errors.TopicError` naming the file and the problem::

    # whole categories that say nothing; added to the bundled list
    generic = ["Press release", "From the archive"]
    # phrases that mean no topic and stop shorter patterns inside them from firing
    neutral = ["care bears"]

    [topics."Funding and finance"]      # a bundled topic (name compared folded)
    aliases = ["Money matters"]         # whole category strings; added to the bundled ones
    patterns = ["precept", "fair cost of care"]   # words/phrases; added

    [topics."Older people"]
    replace = true                      # drop the bundled aliases and patterns, use these
    patterns = ["older people", "over-65s"]

    [topics."Digital and technology"]
    disabled = true                     # remove the topic altogether

    [topics."Sensory loss"]             # a new topic, listed after the bundled ones
    aliases = ["Sight and hearing"]
    patterns = ["sight loss", "hearing loss", "deafblind"]
    category_patterns = ["sensory"]     # counts inside categories, never in free text

A topic's name is always one of its aliases. An alias matches a whole category, or a whole
segment of one split at ``, ; / | :`` ("topics:things/health"); an alias of two or more
words also counts inside a longer category. ``fingerprint`` hashes the effective
definition after folding, so editing the file changes it exactly when matching could
change (re-ordering or re-casing a list does not), and the cache knows when to re-tag.
"""

from __future__ import annotations

import hashlib
import json
import re
import tomllib
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from carefeed.errors import TopicError
from carefeed.model import TopicMatch

__all__ = ["Taxonomy", "Topic", "bundled_taxonomy", "load_taxonomy"]

# Bump when the folding or matching rules change, so caches re-tag (part of the fingerprint).
MATCHER_VERSION = 1

TITLE_CAP = 1_000  # characters of a title examined
SUMMARY_CAP = 1_000  # characters of a summary examined: the lead carries the subject
CATEGORY_CAP = 200  # characters of one category examined
MAX_CATEGORIES = 64  # categories of one post examined
TITLE_WEIGHT = 2
SUMMARY_WEIGHT = 1
INFER_THRESHOLD = 2  # one title hit, or two in the summary
# every matching constant is part of the fingerprint
_RULES: tuple[int, ...] = (TITLE_CAP, SUMMARY_CAP, CATEGORY_CAP, MAX_CATEGORIES)
_RULES += (TITLE_WEIGHT, SUMMARY_WEIGHT, INFER_THRESHOLD)
_CATEGORY_CACHE_MAX = 65_536
_STEM_CACHE_MAX = 200_000

_TOPIC_KEYS = frozenset({"aliases", "patterns", "category_patterns", "replace", "disabled"})
_LISTS = ("aliases", "patterns", "category_patterns")
_TOP_KEYS = frozenset({"generic", "neutral", "topics"})


# --------------------------------------------------------------------------- folding

_DROP = str.maketrans({"'": "", "’": "", "‘": "", "`": "", "´": "", "&": " and "})
_NON_WORD = re.compile(r"[\W_]+")
_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])")
_SEGMENTS = re.compile(r"[,;/|:]")  # "Dementia; older people", "topics:things/health"
# ASCII text takes a fast path (bench: 300 characters in ~3 µs instead of ~25): one
# bytes.translate lowercases letters, turns every other byte into a space and deletes
# apostrophes. The usual typographic characters are swapped out first so that curly
# quotes and dashes do not push ordinary English off the fast path.
_ASCII = (
    bytes((b | 0x20) if chr(b).isalpha() else b if chr(b).isdigit() else 0x20 for b in range(128))
    + b" " * 128
)
_MARKS = re.compile("[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]+")
_TYPOGRAPHIC = (("’", ""), ("‘", ""), ("“", " "), ("”", " "), ("–", " "), ("—", " "))
_STEMS: dict[str, str] = {}


def _stem(word: str) -> str:
    """Strip a plural ending, crudely and consistently (the same rule folds the patterns)."""
    n = len(word)
    if n > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if n > 4 and word.endswith(("sses", "ches", "shes", "xes")):
        return word[:-2]
    if n > 3 and word[-1] == "s" and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def _stemmed(word: str) -> str:
    """``_stem`` remembered: a cache re-tag meets the same few thousand words again and again."""
    if len(_STEMS) >= _STEM_CACHE_MAX:
        _STEMS.clear()
    stem = _STEMS[word] = _stem(word)
    return stem


def _words(text: str) -> list[str]:
    """Casefold, strip accents, drop apostrophes, punctuation → space, split, stem."""
    if "&" in text:
        text = text.replace("&", " and ")
    if not text.isascii():
        for typographic, plain in _TYPOGRAPHIC:
            text = text.replace(typographic, plain)
        if not text.isascii():  # accents: "Démentia" → "dementia", "ﬁnance" → "finance"
            text = _MARKS.sub("", unicodedata.normalize("NFKD", text.casefold()))
    if text.isascii():
        words = text.encode("ascii").translate(_ASCII, b"'`").decode("ascii").split()
    else:
        words = _NON_WORD.sub(" ", text.translate(_DROP)).split()
    get = _STEMS.get
    return [get(w) or _stemmed(w) for w in words]


def _fold(text: str) -> str:
    """The matching key of a category, alias or pattern: folded and stemmed words."""
    return " ".join(_words(text))


def _plain(text: str) -> str:
    """Folded but not stemmed: for prefix matching in :meth:`Taxonomy.resolve`."""
    text = unicodedata.normalize("NFKD", text.casefold())
    text = "".join(c for c in text if not unicodedata.combining(c))
    return " ".join(_NON_WORD.sub(" ", text.translate(_DROP)).split())


# --------------------------------------------------------------------------- the records


@dataclass(frozen=True)
class Topic:
    """One canonical topic: its display name, whole-category aliases and phrase patterns.

    ``category_patterns`` are phrases that mean the topic inside a category but are too
    broad for free text ("health" in "Health policy", never in a post's summary).
    """

    name: str
    aliases: tuple[str, ...] = ()
    patterns: tuple[str, ...] = ()
    category_patterns: tuple[str, ...] = ()


class _PhraseTable:
    """Phrase (folded words joined by spaces) → topic indices, scanned longest-first.

    A scan starts only at words that begin some phrase (``firsts``: one set lookup per
    word, in a comprehension) and extends a candidate only while it is still a proper
    prefix of a phrase (``prefixes``), so text costs about one lookup per word.
    """

    def __init__(self, phrases: Mapping[str, Iterable[int]]) -> None:
        self.phrases: dict[str, tuple[int, ...]] = {
            k: tuple(sorted(set(v))) for k, v in phrases.items()
        }
        self.prefixes: set[str] = set()
        self.firsts: frozenset[str] = frozenset(k.split(" ")[0] for k in self.phrases)
        for key in self.phrases:
            words = key.split(" ")
            for i in range(1, len(words)):
                self.prefixes.add(" ".join(words[:i]))

    def scan(self, words: Sequence[str]) -> list[tuple[str, tuple[int, ...]]]:
        """Leftmost-longest (phrase, topics) matches, words used once; neutral ones left out."""
        phrases, prefixes, firsts = self.phrases, self.prefixes, self.firsts
        hits: list[tuple[str, tuple[int, ...]]] = []
        free, n = 0, len(words)
        for i in [i for i, w in enumerate(words) if w in firsts]:
            if i < free:
                continue
            key = best_key = words[i]
            best: tuple[int, ...] | None = phrases.get(key)
            best_len = 1
            j = i + 1
            while j < n and key in prefixes:
                key = key + " " + words[j]
                j += 1
                found = phrases.get(key)
                if found is not None:
                    best, best_key, best_len = found, key, j - i
            if best is not None:
                if best:
                    hits.append((best_key, best))
                free = i + best_len
        return hits


class Taxonomy:
    """The effective taxonomy (bundled, plus the user's file) and the matcher built from it."""

    def __init__(
        self,
        topics: Sequence[Topic],
        generic: Iterable[str] = (),
        neutral: Iterable[str] = (),
    ) -> None:
        self.topics: tuple[Topic, ...] = tuple(topics)
        self._names = tuple(t.name for t in self.topics)
        self._given = tuple(TopicMatch(n, inferred=False) for n in self._names)
        self._inferred = tuple(TopicMatch(n, inferred=True) for n in self._names)

        alias_map: dict[str, set[int]] = {}
        text_phrases: dict[str, set[int]] = {}
        category_only: dict[str, set[int]] = {}
        for i, topic in enumerate(self.topics):
            for alias in (topic.name, *topic.aliases):
                key = _fold(alias)
                alias_map.setdefault(key, set()).add(i)
                if " " in key:  # "Finance & funding" also counts inside a longer category
                    category_only.setdefault(key, set()).add(i)
            for pattern in topic.patterns:
                text_phrases.setdefault(_fold(pattern), set()).add(i)
            for pattern in topic.category_patterns:
                category_only.setdefault(_fold(pattern), set()).add(i)
        self._generic = frozenset(_fold(g) for g in generic) - set(alias_map)
        neutral_keys = {_fold(p) for p in neutral} - set(text_phrases) - set(category_only)
        neutral_keys -= set(alias_map)
        for key in neutral_keys:
            text_phrases[key] = set()
        category_phrases = {k: set(v) for k, v in text_phrases.items()}
        for key, idx in category_only.items():
            category_phrases.setdefault(key, set()).update(idx)
        for table in (alias_map, text_phrases, category_phrases):
            table.pop("", None)
        self._aliases = {k: tuple(sorted(v)) for k, v in alias_map.items()}
        self._text = _PhraseTable(text_phrases)
        self._categories = _PhraseTable(category_phrases)
        self._category_cache: dict[str, tuple[int, ...]] = {}

        definition = {
            "matcher": MATCHER_VERSION,
            "rules": _RULES,
            "topics": [
                [
                    t.name,
                    sorted({_fold(a) for a in (t.name, *t.aliases)}),
                    sorted({_fold(p) for p in t.patterns}),
                    sorted({_fold(p) for p in t.category_patterns}),
                ]
                for t in self.topics
            ],
            "generic": sorted(self._generic),
            "neutral": sorted(neutral_keys),
        }
        blob = json.dumps(definition, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
        self.fingerprint: str = hashlib.sha256(blob.encode()).hexdigest()[:16]

    def __repr__(self) -> str:
        return f"<Taxonomy {len(self.topics)} topics {self.fingerprint}>"

    # ------------------------------------------------------------------ classification

    def _category_indices(self, category: str) -> tuple[int, ...]:
        text = category[:CATEGORY_CAP]  # also the cache key: a 5 MB category is not kept
        found = self._category_cache.get(text)
        if found is None:
            found = self._match_category(text)
            split = _CAMEL.sub(" ", text)  # a hashtag-style "MentalHealth" or "SocialCare"
            if not found and split != text:
                found = self._match_category(split)
            if len(self._category_cache) >= _CATEGORY_CACHE_MAX:
                self._category_cache.clear()
            self._category_cache[text] = found
        return found

    def _match_category(self, text: str) -> tuple[int, ...]:
        """The whole category as an alias; else each segment ("topics:things/health" has
        three) as an alias, generic, or by the phrases inside it."""
        exact = self._aliases.get(_fold(text))
        if exact is not None:
            return exact
        idx: set[int] = set()
        for segment in _SEGMENTS.split(text):
            key = _fold(segment)
            exact = self._aliases.get(key)
            if exact is not None:
                idx.update(exact)
            elif key not in self._generic:
                for _, hit in self._categories.scan(key.split()):
                    idx.update(hit)
        return tuple(sorted(idx))

    def topics_for_category(self, category: str) -> tuple[str, ...]:
        """The canonical names one raw category maps to (empty for "News", "Sport"…)."""
        return tuple(self._names[i] for i in self._category_indices(category))

    def classify(
        self, categories: Sequence[str], title: str, summary: str
    ) -> tuple[TopicMatch, ...]:
        """A post's topics, in taxonomy order: from its categories, else inferred from text."""
        if categories:
            given: set[int] = set()
            for category in categories[:MAX_CATEGORIES]:
                given.update(self._category_indices(category))
            if given:
                return tuple(self._given[i] for i in sorted(given))
        scan = self._text.scan
        scores: dict[int, int] = {}
        if title:
            for _, hit in scan(_words(title[:TITLE_CAP])):
                for i in hit:
                    scores[i] = scores.get(i, 0) + TITLE_WEIGHT
        if summary:
            # each phrase counts once: "Share on Facebook" three times is no evidence
            for _, hit in dict(scan(_words(summary[:SUMMARY_CAP]))).items():
                for i in hit:
                    scores[i] = scores.get(i, 0) + SUMMARY_WEIGHT
        if not scores:
            return ()
        inferred = self._inferred
        return tuple(inferred[i] for i in sorted(scores) if scores[i] >= INFER_THRESHOLD)

    # ------------------------------------------------------------------ names

    def resolve(self, text: str) -> Topic:
        """The topic the user means: its name, an alias, or an unambiguous prefix of either.

        Tried in turn, the first step that finds anything decides: an exact name or alias
        (plurals folded); an exact pattern ("CQC"); a prefix of a name; a prefix of any word
        of a name ("law" → Policy and law); a prefix of an alias. Several topics at one step
        is ambiguous.
        """
        query = _plain(text)
        shown = " ".join(text.split())[:60]
        if not query:
            raise TopicError(f"no topic name given; topics: {', '.join(self._names)}")
        stemmed = _fold(query)
        steps: list[list[int]] = [
            [i for i in self._aliases.get(stemmed, ())],
            [i for i in self._text.phrases.get(stemmed, ())],
            [i for i, t in enumerate(self.topics) if _plain(t.name).startswith(query)],
            [i for i, t in enumerate(self.topics) if f" {query}" in f" {_plain(t.name)}"],
            [
                i
                for i, t in enumerate(self.topics)
                if any(_plain(a).startswith(query) for a in t.aliases)
            ],
        ]
        for found in steps:
            if len(found) == 1:
                return self.topics[found[0]]
            if found:
                names = ", ".join(self._names[i] for i in found)
                raise TopicError(f"topic {shown!r} is ambiguous: it could be {names}")
        raise TopicError(f"no topic matches {shown!r}; topics: {', '.join(self._names)}")


# --------------------------------------------------------------------------- loading


def _strings(value: object, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise TopicError(f"{where} must be a list of strings")
    for v in value:
        if not _fold(v):
            raise TopicError(f"{where}: {v!r} has no letters or digits")
    return tuple(value)


_Entry = tuple[str, dict[str, Any]]


def _read(
    data: Mapping[str, Any], source: str
) -> tuple[tuple[str, ...], tuple[str, ...], list[_Entry]]:
    """Validate one taxonomy document; raise TopicError naming ``source`` and the problem."""
    unknown = sorted(set(data) - _TOP_KEYS)
    if unknown:
        raise TopicError(
            f"{source}: unknown key {unknown[0]!r} (expected generic, neutral, [topics.NAME])"
        )
    generic = _strings(data.get("generic", []), f"{source}: generic")
    neutral = _strings(data.get("neutral", []), f"{source}: neutral")
    topics = data.get("topics", {})
    if not isinstance(topics, dict):
        raise TopicError(f'{source}: topics must be tables, as [topics."Name"]')
    entries: list[_Entry] = []
    for name, body in topics.items():
        where = f"{source}: topics.{json.dumps(name, ensure_ascii=False)}"
        if not _fold(name):
            raise TopicError(f"{where}: a topic name needs letters or digits")
        if not isinstance(body, dict):
            raise TopicError(f"{where} must be a table")
        bad = sorted(set(body) - _TOPIC_KEYS)
        if bad:
            raise TopicError(
                f"{where}: unknown key {bad[0]!r} (expected {', '.join(sorted(_TOPIC_KEYS))})"
            )
        for flag in ("replace", "disabled"):
            if flag in body and not isinstance(body[flag], bool):
                raise TopicError(f"{where}: {flag} must be true or false")
        entries.append(
            (
                name,
                {
                    **{k: _strings(body.get(k, []), f"{where}: {k}") for k in _LISTS},
                    "replace": body.get("replace", False),
                    "disabled": body.get("disabled", False),
                },
            )
        )
    return generic, neutral, entries


def _parse(raw: bytes, source: str) -> Mapping[str, Any]:
    try:
        return tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise TopicError(f"{source}: not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise TopicError(f"{source}: not valid TOML: {exc}") from None


def _merge(base: _Bundled, data: Mapping[str, Any], source: str) -> Taxonomy:
    """The bundled taxonomy extended or overridden by one user document (module docstring)."""
    generic, neutral, entries = _read(data, source)
    topics = list(base.taxonomy.topics)
    by_name = {_fold(t.name): i for i, t in enumerate(topics)}
    dropped: set[int] = set()
    for name, body in entries:
        i = by_name.get(_fold(name))
        if i is None:
            if body["disabled"]:
                known = ", ".join(t.name for t in topics)
                raise TopicError(
                    f"{source}: cannot disable {name!r}: no such topic (topics: {known})"
                )
            by_name[_fold(name)] = len(topics)
            topics.append(Topic(name, *(body[k] for k in _LISTS)))
            continue
        if body["disabled"]:
            dropped.add(i)
            continue
        old = topics[i]
        if body["replace"]:
            topics[i] = Topic(old.name, *(body[k] for k in _LISTS))
        else:
            topics[i] = Topic(old.name, *(_unique(getattr(old, k) + body[k]) for k in _LISTS))
    kept = [t for i, t in enumerate(topics) if i not in dropped]
    return Taxonomy(kept, base.generic + generic, base.neutral + neutral)


def _unique(items: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))


@dataclass(frozen=True)
class _Bundled:
    taxonomy: Taxonomy
    generic: tuple[str, ...]
    neutral: tuple[str, ...]


@cache
def _bundled() -> _Bundled:
    source = "carefeed/topics.toml (bundled)"
    raw = resources.files("carefeed").joinpath("topics.toml").read_bytes()
    generic, neutral, entries = _read(_parse(raw, source), source)
    topics = [Topic(name, *(body[k] for k in _LISTS)) for name, body in entries]
    return _Bundled(Taxonomy(topics, generic, neutral), generic, neutral)


def bundled_taxonomy() -> Taxonomy:
    """The taxonomy shipped with carefeed (built once per process)."""
    return _bundled().taxonomy


def load_taxonomy(user_file: Path | None) -> Taxonomy:
    """The bundled taxonomy, extended or overridden by ``user_file`` (missing = bundled)."""
    base = _bundled()
    if user_file is None:
        return base.taxonomy
    try:
        raw = user_file.read_bytes()
    except FileNotFoundError:
        return base.taxonomy
    except OSError as exc:
        raise TopicError(f"{user_file}: cannot be read ({exc.strerror or exc})") from None
    return _merge(base, _parse(raw, str(user_file)), str(user_file))
