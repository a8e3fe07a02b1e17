"""Topics (issue 5): the taxonomy's quality on a labelled set, and its rules one by one.

The labelled set (tests/data/topics_labelled.toml) was written as a reader would file each
category and post, before the taxonomy was tuned; the first test prints precision and
recall per topic (visible in the normal pytest output) and holds every topic to 0.95. A
smaller held-out set, written after tuning and not tuned to, gives the fairer estimate.
"""

from __future__ import annotations

import pickle
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from carefeed.errors import TopicError
from carefeed.model import TopicMatch
from carefeed.topics import (
    CATEGORY_CAP,
    Taxonomy,
    Topic,
    bundled_taxonomy,
    load_taxonomy,
)

LABELLED = Path(__file__).parent / "data" / "topics_labelled.toml"
CODES = {
    "MH": "Mental health",
    "FIN": "Funding and finance",
    "ASC": "Adult social care",
    "CF": "Children and families",
    "LDA": "Learning disability and autism",
    "DEM": "Dementia",
    "OLD": "Older people",
    "CAR": "Carers",
    "WF": "Workforce",
    "SG": "Safeguarding",
    "HOU": "Housing and homelessness",
    "INT": "Health and care integration",
    "POL": "Policy and law",
    "REG": "Regulation and inspection",
    "SWP": "Social work practice",
    "DIS": "Disability",
    "DIG": "Digital and technology",
    "EQ": "Equality and inclusion",
}
BAR = 0.95


# --------------------------------------------------------------------------- the labelled set


@dataclass
class Counts:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    def add(self, expected: set[str], got: set[str], topic: str) -> None:
        self.tp += topic in expected and topic in got
        self.fp += topic not in expected and topic in got
        self.fn += topic in expected and topic not in got


@dataclass
class Case:
    what: str
    expected: set[str]
    got: set[str]


def _cases(taxonomy: Taxonomy, prefix: str = "") -> tuple[list[Case], list[Case]]:
    """The labelled categories and posts (``prefix="heldout_"`` for the held-out set)."""
    data = tomllib.loads(LABELLED.read_text("utf-8"))
    categories = [
        Case(f"category {raw!r}", {CODES[c] for c in codes}, set(taxonomy.topics_for_category(raw)))
        for raw, codes in data[f"{prefix}categories"].items()
    ]
    posts = [
        Case(
            f"post {p['title']!r} {p['cats']}",
            {CODES[c] for c in p["topics"]},
            {m.name for m in taxonomy.classify(p["cats"], p["title"], p["summary"])},
        )
        for p in data[f"{prefix}post"]
    ]
    return categories, posts


def _table(categories: list[Case], posts: list[Case]) -> tuple[str, dict[str, Counts]]:
    per_topic = {name: Counts() for name in CODES.values()}
    micro = {"categories": Counts(), "posts": Counts(), "all": Counts()}
    for kind, cases in (("categories", categories), ("posts", posts)):
        for case in cases:
            for name in CODES.values():
                per_topic[name].add(case.expected, case.got, name)
                micro[kind].add(case.expected, case.got, name)
                micro["all"].add(case.expected, case.got, name)
    lines = [
        f"topics: {len(categories)} labelled categories, {len(posts)} labelled posts",
        f"{'topic':34} {'P':>6} {'R':>6} {'tp':>4} {'fp':>4} {'fn':>4}",
    ]
    for name, c in [*per_topic.items(), *((f"micro ({k})", v) for k, v in micro.items())]:
        lines.append(f"{name:34} {c.precision:6.3f} {c.recall:6.3f} {c.tp:4d} {c.fp:4d} {c.fn:4d}")
    misses = [c for c in (*categories, *posts) if c.expected != c.got]
    for case in misses:
        lines.append(
            f"  miss: {case.what}: expected {sorted(case.expected)} got {sorted(case.got)}"
        )
    per_topic.update({f"micro ({k})": v for k, v in micro.items()})
    return "\n".join(lines), per_topic


def test_labelled_set_precision_and_recall(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Every topic, and the micro-average, reaches 0.95 precision and recall."""
    categories, posts = _cases(bundled_taxonomy())
    assert len(categories) >= 200
    assert len(posts) >= 100
    table, counts = _table(categories, posts)
    (tmp_path / "topics_precision_recall.txt").write_text(table + "\n", "utf-8")
    with capsys.disabled():
        print("\n" + table)
    low = {
        name: (round(c.precision, 3), round(c.recall, 3))
        for name, c in counts.items()
        if c.precision < BAR or c.recall < BAR
    }
    assert not low, f"below {BAR}: {low}\n{table}"


def test_held_out_set(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """Items written after tuning and never tuned to: a fairer estimate, held to a floor.

    Measured once before any change that could have seen it: micro P 0.989, R 0.843 (the
    misses are posts whose subject appears only once, in the summary: inference is
    conservative on purpose). Too few items per topic to hold each topic to a bar.
    """
    categories, posts = _cases(bundled_taxonomy(), prefix="heldout_")
    table, counts = _table(categories, posts)
    (tmp_path / "topics_held_out.txt").write_text(table + "\n", "utf-8")
    with capsys.disabled():
        print("\nheld out: " + table)
    assert counts["micro (all)"].precision >= 0.95, table
    assert counts["micro (all)"].recall >= 0.80, table


def test_labelled_set_uses_every_topic_and_only_known_codes() -> None:
    data = tomllib.loads(LABELLED.read_text("utf-8"))
    used = {c for codes in data["categories"].values() for c in codes}
    used |= {c for p in data["post"] for c in p["topics"]}
    assert used == set(CODES)
    for codes in data["heldout_categories"].values():
        assert set(codes) <= set(CODES)
    for post in data["heldout_post"]:
        assert set(post["topics"]) <= set(CODES)
    assert set(CODES.values()) <= {t.name for t in bundled_taxonomy().topics}


def test_inferred_flag_follows_whether_categories_decided() -> None:
    taxonomy = bundled_taxonomy()
    for post in tomllib.loads(LABELLED.read_text("utf-8"))["post"]:
        from_categories = any(taxonomy.topics_for_category(c) for c in post["cats"])
        for match in taxonomy.classify(post["cats"], post["title"], post["summary"]):
            assert match.inferred is not from_categories, post["title"]


# --------------------------------------------------------------------------- classification

T = bundled_taxonomy()


def names(matches: tuple[TopicMatch, ...]) -> list[str]:
    return [m.name for m in matches]


def test_categories_decide_and_are_not_inferred() -> None:
    got = T.classify(["Finance & funding", "mental-health"], "A walk in the park", "")
    assert got == (TopicMatch("Mental health"), TopicMatch("Funding and finance"))


def test_one_category_can_name_several_topics_in_taxonomy_order() -> None:
    assert T.topics_for_category("Mental health and social care funding") == (
        "Mental health",
        "Funding and finance",
        "Adult social care",
    )


def test_categories_win_over_text() -> None:
    got = T.classify(["Dementia"], "Council budgets cut again", "Funding funding funding.")
    assert got == (TopicMatch("Dementia"),)


@pytest.mark.parametrize(
    "categories", [[], ["News"], ["Uncategorized", "Latest"], ["[b]Blog[/b]"], ["Sport"]]
)
def test_generic_or_unknown_categories_leave_topics_to_the_text(categories: list[str]) -> None:
    got = T.classify(categories, "Care worker pay falls behind supermarkets", "")
    assert got == (TopicMatch("Workforce", inferred=True),)


def test_generic_categories_map_to_nothing_even_when_user_listed() -> None:
    assert T.topics_for_category("Uncategorised") == ()
    assert T.topics_for_category("Latest news") == ()


def test_one_mention_in_a_summary_is_not_enough() -> None:
    summary = (
        "The council will close two day centres to save money this year. "
        "A spokesperson said the NHS had been consulted."
    )
    got = names(T.classify([], "Day centres to close", summary))
    assert "Health and care integration" not in got
    assert "Funding and finance" not in got  # "money" once in the summary
    assert names(T.classify([], "NHS and councils agree a plan", "")) == [
        "Health and care integration"
    ]
    assert "Funding and finance" in names(
        T.classify([], "A hard year", "Budgets are down and funding is gone.")
    )


def test_a_taxonomy_survives_pickling_for_a_process_pool() -> None:
    T.topics_for_category("Dementia")  # a warm cache travels too
    copy = pickle.loads(pickle.dumps(T))
    assert copy.fingerprint == T.fingerprint
    assert copy.classify([], "Carers week", "") == T.classify([], "Carers week", "")


def test_nothing_to_say_gives_no_topics() -> None:
    assert T.classify([], "", "") == ()
    assert T.classify(["Recipes"], "Lemon drizzle", "Bake for forty minutes.") == ()


@pytest.mark.parametrize(
    ("category", "topic"),
    [
        ("MENTAL HEALTH", "Mental health"),
        ("mental_health", "Mental health"),
        ("MentalHealth", "Mental health"),
        ("Mental   health!!", "Mental health"),
        ("Démentia", "Dementia"),
        ("DEMENTIA", "Dementia"),
        ("Carers’", "Carers"),
        ("carer's", "Carers"),
        ("Policies", "Policy and law"),
        ("Inspections", "Regulation and inspection"),
        ("Learning Disabilities", "Learning disability and autism"),
        ("care-homes", "Adult social care"),
        ("Homelessness & housing", "Housing and homelessness"),
    ],
)
def test_case_accents_punctuation_and_plurals_fold(category: str, topic: str) -> None:
    assert T.topics_for_category(category) == (topic,)


def test_longest_phrase_wins() -> None:
    assert T.topics_for_category("Children's social care") == ("Children and families",)
    assert T.topics_for_category("Foster carers") == ("Children and families",)
    assert T.topics_for_category("Mental capacity") == ("Policy and law",)
    assert T.topics_for_category("Learning disability") == ("Learning disability and autism",)


def test_single_word_aliases_match_whole_categories_or_segments_only() -> None:
    assert T.topics_for_category("Families") == ("Children and families",)
    assert T.topics_for_category("friends and family") == ()
    assert T.topics_for_category("State of the Union address") == ()
    assert T.topics_for_category("topics:things/health") == ("Health and care integration",)
    assert T.topics_for_category("Dementia; Carers | Data") == (
        "Dementia",
        "Carers",
        "Digital and technology",
    )
    assert T.topics_for_category("Money matters") == ("Funding and finance",)  # a pattern


def test_category_patterns_count_in_categories_only() -> None:
    assert T.topics_for_category("Health policy") == (
        "Health and care integration",
        "Policy and law",
    )
    assert T.classify([], "Health tips for the summer", "Health, health, health.") == ()


def test_household_bills_are_not_legislation() -> None:
    assert T.topics_for_category("topics:things/electricity-bills") == ()
    assert names(T.classify([], "The Care Bill passes second reading", "")) == ["Policy and law"]


def test_a_phrase_repeated_in_a_summary_counts_once() -> None:
    share = "Share on Facebook. Share on Facebook. Share on Facebook."
    assert T.classify([], "Weekend plans", share) == ()
    assert names(T.classify([], "Weekend plans", share + " Our new app and website.")) == [
        "Digital and technology"
    ]


def test_aliases_count_in_categories_but_not_in_text() -> None:
    assert T.topics_for_category("MH") == ("Mental health",)
    assert T.classify([], "MH and LD and ASC", "") == ()


def test_hostile_strings_are_plain_text() -> None:
    assert T.classify(["[bold]Dementia[/bold]"], "", "") == (TopicMatch("Dementia"),)
    assert names(T.classify([], "Dementia\x00\x1b[31m\x07 care", "")) == ["Dementia"]
    assert names(T.classify([], "[@click=screen.quit]Carers[/]", "")) == ["Carers"]
    assert T.topics_for_category("\u202eDementia\u200b") == ("Dementia",)


def test_only_the_start_of_huge_text_is_examined() -> None:
    """A 5 MB title or category costs what its first kilobyte does: the rest is not read."""
    huge = "x " * 2_500_000
    assert T.classify([], huge + "dementia", huge + "dementia dementia") == ()
    assert T.classify([huge + "dementia"], "", "") == ()
    assert T.topics_for_category("x " * CATEGORY_CAP + "dementia") == ()
    assert names(T.classify([], "dementia " + huge, "")) == ["Dementia"]
    assert T.classify([f"c{i}" for i in range(10_000)] + ["Dementia"], "", "") == ()
    assert T.classify([*["News"] * 10, "Dementia"], "", "") == (TopicMatch("Dementia"),)


# --------------------------------------------------------------------------- resolve


@pytest.mark.parametrize(
    ("text", "topic"),
    [
        ("fund", "Funding and finance"),
        ("FUNDING", "Funding and finance"),
        ("mental", "Mental health"),
        ("Mental health", "Mental health"),
        ("mental-health", "Mental health"),
        ("MH", "Mental health"),
        ("démentia", "Dementia"),
        ("carer", "Carers"),
        ("law", "Policy and law"),
        ("integration", "Health and care integration"),
        ("  safeguarding  ", "Safeguarding"),
        ("CQC", "Regulation and inspection"),
        ("health", "Health and care integration"),  # an exact alias beats prefixes
        ("abuse", "Safeguarding"),
        ("Finance & funding", "Funding and finance"),
    ],
)
def test_resolve_names_aliases_and_prefixes(text: str, topic: str) -> None:
    assert T.resolve(text).name == topic


@pytest.mark.parametrize("text", ["d", "di", "s", "c", "care act"])
def test_resolve_ambiguous_lists_the_candidates(text: str) -> None:
    with pytest.raises(TopicError, match="ambiguous") as info:
        T.resolve(text)
    message = str(info.value)
    assert "\n" not in message
    assert message.count(",") >= 1


def test_resolve_ambiguous_message_names_them() -> None:
    with pytest.raises(TopicError, match="Disability, Digital and technology"):
        T.resolve("di")


@pytest.mark.parametrize("text", ["zebra", "", "   ", "!!!"])
def test_resolve_nothing_says_so_in_one_line(text: str) -> None:
    with pytest.raises(TopicError) as info:
        T.resolve(text)
    assert "\n" not in str(info.value)
    assert "Mental health" in str(info.value)


# --------------------------------------------------------------------------- the user's file


@pytest.fixture
def user_file(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path / "topics.toml"


def test_missing_or_no_user_file_is_the_bundled_taxonomy(user_file: Path) -> None:
    assert load_taxonomy(None) is bundled_taxonomy()
    assert load_taxonomy(user_file) is bundled_taxonomy()


def test_user_file_extends_a_topic(user_file: Path) -> None:
    user_file.write_text(
        '[topics."funding and finance"]\naliases = ["Money matters"]\npatterns = ["kitty"]\n',
        "utf-8",
    )
    taxonomy = load_taxonomy(user_file)
    assert taxonomy.topics_for_category("Money matters") == ("Funding and finance",)
    assert taxonomy.topics_for_category("Budget") == ("Funding and finance",)  # kept
    assert names(taxonomy.classify([], "The kitty is empty", "")) == ["Funding and finance"]
    assert taxonomy.fingerprint != bundled_taxonomy().fingerprint


def test_user_file_replaces_and_disables(user_file: Path) -> None:
    user_file.write_text(
        '[topics."Older people"]\nreplace = true\npatterns = ["silver surfers"]\n'
        '[topics."Digital and technology"]\ndisabled = true\n',
        "utf-8",
    )
    taxonomy = load_taxonomy(user_file)
    assert "Digital and technology" not in [t.name for t in taxonomy.topics]
    assert taxonomy.topics_for_category("Digital") == ()
    assert taxonomy.topics_for_category("Elderly") == ()
    assert taxonomy.topics_for_category("Older people") == ("Older people",)  # the name
    assert taxonomy.topics_for_category("Silver surfers") == ("Older people",)
    with pytest.raises(TopicError):
        taxonomy.resolve("digital")


def test_user_file_adds_a_topic_at_the_end_and_generic_categories(user_file: Path) -> None:
    user_file.write_text(
        'generic = ["Dementia"]\n'  # a bundled alias stays an alias
        'neutral = ["sensory garden"]\n'
        '[topics."Sensory loss"]\naliases = ["Sight and hearing"]\n'
        'patterns = ["deafblind", "sensory"]\ncategory_patterns = ["eyes"]\n',
        "utf-8",
    )
    taxonomy = load_taxonomy(user_file)
    assert taxonomy.topics[-1] == Topic(
        "Sensory loss", ("Sight and hearing",), ("deafblind", "sensory"), ("eyes",)
    )
    assert taxonomy.topics_for_category("Eyes and ears") == ("Sensory loss",)
    assert taxonomy.classify([], "Eyes", "") == ()
    assert taxonomy.topics_for_category("Deafblind") == ("Sensory loss",)
    assert taxonomy.topics_for_category("Sight & hearing") == ("Sensory loss",)
    assert taxonomy.topics_for_category("Dementia") == ("Dementia",)
    assert taxonomy.classify([], "A sensory garden opens", "") == ()
    assert taxonomy.resolve("sens").name == "Sensory loss"


def test_fingerprint_changes_exactly_when_matching_could(user_file: Path) -> None:
    def fingerprint(text: str) -> str:
        user_file.write_text(text, "utf-8")
        return load_taxonomy(user_file).fingerprint

    bundled = bundled_taxonomy().fingerprint
    assert bundled == load_taxonomy(None).fingerprint
    assert fingerprint("") == bundled
    assert fingerprint('[topics.Dementia]\npatterns = ["DEMENTIA", "dementias"]\n') == bundled
    one = fingerprint('[topics.Dementia]\npatterns = ["memory cafe"]\n')
    two = fingerprint('[topics.Dementia]\npatterns = ["memory cafe", "Memory Cafés"]\n')
    assert one == two != bundled
    assert fingerprint('[topics.Dementia]\npatterns = ["memory clinic cafe"]\n') != one
    assert fingerprint("[topics.Dementia]\ndisabled = true\n") != bundled
    assert fingerprint('generic = ["From the archive"]\n') != bundled
    assert fingerprint('generic = ["NEWS", "news!"]\n') == bundled  # already generic
    assert fingerprint('neutral = ["care bears"]\n') != bundled


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("[topics.Dementia\n", "not valid TOML"),
        ("colour = 'blue'\n", "unknown key 'colour'"),
        ("[topics.Dementia]\nalias = ['x']\n", "unknown key 'alias'"),
        ("[topics.Dementia]\naliases = 'x'\n", "must be a list of strings"),
        ("[topics.Dementia]\npatterns = [1]\n", "must be a list of strings"),
        ("[topics.Dementia]\npatterns = ['!!']\n", "no letters or digits"),
        ("[topics.Dementia]\ndisabled = 'yes'\n", "true or false"),
        ("topics = 3\n", "must be tables"),
        ('[topics."--"]\n', "needs letters or digits"),
        ("generic = 'News'\n", "must be a list of strings"),
        ('[topics."Digtal"]\ndisabled = true\n', "cannot disable 'Digtal': no such topic"),
    ],
)
def test_bad_user_file_names_file_and_problem(user_file: Path, text: str, problem: str) -> None:
    user_file.write_text(text, "utf-8")
    with pytest.raises(TopicError, match=problem) as info:
        load_taxonomy(user_file)
    assert str(user_file) in str(info.value)
    assert "\n" not in str(info.value)


def test_unreadable_user_files(user_file: Path) -> None:
    user_file.write_bytes(b"\xff\xfe[topics]")
    with pytest.raises(TopicError, match="not UTF-8"):
        load_taxonomy(user_file)
    user_file.unlink()
    user_file.mkdir()
    with pytest.raises(TopicError, match="cannot be read"):
        load_taxonomy(user_file)
