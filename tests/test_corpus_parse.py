"""parse_feed against real captured feeds: ../shared/corpus/{feeds,broken,comments}.

Each expectation restates what SOURCES.md says a correct reader extracts from that file
(counts, titles, categories, comment-feed links and counts, dates, encodings, errors), so
a failure names a real feed that carefeed would read wrongly. The corpus is read in place,
never copied; without it these tests skip.
"""

from __future__ import annotations

import functools
import re
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest

from carefeed.errors import ParseError
from carefeed.model import EntryData, ParsedFeed
from carefeed.parse import GUID_MAX, parse_feed
from carefeed.text import CONTENT_MAX

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"
FOLDERS = ("feeds", "broken", "comments")

pytestmark = [
    pytest.mark.corpus,
    pytest.mark.skipif(
        not CORPUS.is_dir(),
        reason=(
            "../shared/corpus not found: corpus tests need the shared folder beside the checkout"
        ),
    ),
]

# Where the files were served from, for the ones whose links are relative (SOURCES.md).
WHIZZY = "https://whizzy.org"
FEED_URLS = {
    "feeds/jekyll-qemu-atom.xml": "https://www.qemu.org/feed.xml",
    "broken/huge-entry-content-yakubin.atom": "https://yakubin.com/atom.xml",
    "broken/relative-links-whizzy-wp-static.xml": f"{WHIZZY}/feed/",
    "comments/wp-whizzy-comments-cisco-7941.xml": (
        f"{WHIZZY}/2017/02/23/cisco-7941-asterisk-and-sip/feed/"
    ),
    "comments/wp-whizzy-comments-alexa-oauth.xml": (
        f"{WHIZZY}/2016/12/05/howto-add-oauth-to-your-alexa-smart-home-skill-in-10-minutes/feed/"
    ),
    "comments/wp-whizzy-comments-dash-searches.xml": (
        f"{WHIZZY}/2015/12/10/online-searches-in-the-dash-to-be-off-by-default/feed/"
    ),
    "comments/wp-whizzy-comments-empty-ginger-beer.xml": f"{WHIZZY}/2009/06/05/ginger-beer/feed/",
    "comments/wp-whizzy-comments-gmaps-beginners.xml": (
        f"{WHIZZY}/2009/05/08/absolute-beginners-guide-to-google-maps-javascript/feed/"
    ),
    "comments/wp-whizzy-sitewide-comments.xml": f"{WHIZZY}/comments/feed/",
    "comments/wp-girtby-comments-last-post.xml": (
        "http://girtby.net/archives/2009/09/18/last-post/feed/"
    ),
    "comments/wp-girtby-comments-archiving-tweets.xml": (
        "http://girtby.net/archives/2009/08/23/archiving-tweets/feed/"
    ),
    "comments/wp-girtby-comments-easiest-100.xml": (
        "http://girtby.net/archives/2009/06/13/easiest-100-ill-ever-make/feed/"
    ),
}
DEFAULT_URL = "https://feeds.example.org/feed/"
ERRORS = {
    "broken/html-404-at-feed-url-infokueche.html": "not a feed (HTML page)",
    "broken/html-page-bare-ampersand-scrubyt.xml": "not a feed (HTML page)",
}


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


@dataclass(frozen=True)
class First:
    """What SOURCES.md says about a document's first post (unset fields are not checked)."""

    title: str | None = None
    title_starts: str | None = None
    categories: tuple[str, ...] | None = None
    author: str | None = None
    no_author: bool = False
    link: str | None = None
    guid: str | None = None
    published: datetime | None = None
    comments_feed: str | None = None
    no_comments_feed: bool = False
    comments_url: str | None = None
    comment_count: int | None = None
    unknown_comment_count: bool = False


@dataclass(frozen=True)
class Expect:
    count: int
    first: First = field(default_factory=First)
    feed_title: str | None = None
    distinct_categories: int | None = None
    malformed: bool = False  # a "malformed XML … recovered" warning is right for this file
    all_comment_feeds: bool = False
    no_comment_feeds: bool = False
    no_categories: bool = False
    dated: int | None = None  # how many posts have a date; None: all of them


EXPECT: dict[str, Expect] = {
    # ------------------------------------------------------------------ feeds/
    "feeds/blogger-4fsodonline-atom.xml": Expect(
        25,
        First(
            "4FSOD Documentary: Bloopers and Stuff",
            author="Anthony",
            comment_count=0,
            comments_feed="http://4fsodonline.blogspot.com/feeds/425541125763448592/comments/default",
        ),
        feed_title="4 Fighting Serpents of Death",
        all_comment_feeds=True,
    ),
    "feeds/ghost-cloudflare-rss2.xml": Expect(
        1,
        First(
            "Privacy-Preserving Compromised Credential Checking",
            categories=("Research", "Security", "Product News"),
            author="Luke Valenta",
        ),
    ),
    "feeds/govscot-news-rss2-from-ts.xml": Expect(
        2,
        First(
            "Scotland's future must be decided by the people who live here",
            categories=("Communities", "Constitution"),
        ),
        feed_title="news.gov.scot RSS Feed",
    ),
    "feeds/health-wapo-wellness-rss2.xml": Expect(
        29,
        First(
            "Schools minister to kids’ fitness and nutrition needs",
            categories=("YMCA", "high school"),
            author="Lenny Bernstein",
            published=utc(2012, 8, 21, 15, 33),
        ),
        distinct_categories=24,
    ),
    "feeds/hugo-ccwupsy-rss2.xml": Expect(
        7,
        First("將power BI的資料表匯出為csv檔", no_author=True, published=utc(2025, 3, 2)),
        no_categories=True,
    ),
    "feeds/jekyll-qemu-atom.xml": Expect(
        10,
        First(
            "QEMU version 10.1.0 released",
            categories=("releases", "qemu 10.1"),
            link="https://www.qemu.org/2025/08/26/qemu-10-1-0/",
            no_author=True,
        ),
        distinct_categories=13,
    ),
    "feeds/jsonfeed-inessential.json": Expect(
        20,
        First(
            "James Dempsey and the Breakpoints Benefit App Camp for Girls",
            link="http://inessential.com/2017/06/02/james_dempsey_and_the_breakpoints_benefi",
            published=utc(2017, 6, 3, 5, 5, 47),  # 2017-06-02T22:05:47-07:00
            categories=(),
        ),
        feed_title="inessential.com",
        no_categories=True,
    ),
    "feeds/medium-489-rss2.xml": Expect(
        10,
        First(
            "Hodl Hodl closes funding round",
            categories=("bitcoin", "funding"),
            guid="https://medium.com/p/417d97952d42",
            author="Hodl Hodl",
        ),
    ),
    "feeds/news-guardian-uk-rss2.xml": Expect(
        55,
        First(
            "Trump State of the Union address promised unity but emphasized discord",
            categories=(
                "Donald Trump",
                "State of the Union address",
                "US news",
                "US politics",
                "Democrats",
                "Republicans",
                "US Congress",
            ),
        ),
        distinct_categories=175,
    ),
    "feeds/news-telegraph-uk-rss2.xml": Expect(
        100,
        First(
            "Why letting your dog lick your face might render antibiotics useless",
            author="Joe Pinkstone",
        ),
        distinct_categories=285,
    ),
    "feeds/rss1-biorxiv-plantbio.rdf": Expect(
        30,
        First(
            title_starts="Wheat inositol pyrophosphate kinase (TaVIH2-3B)",
            published=utc(2019, 8, 27),
            categories=(),
        ),
        no_categories=True,
    ),
    "feeds/substack-heated-rss2.xml": Expect(
        1,
        First(
            "A conversation about Keystone XL",
            author="Emily Atkin",
            published=utc(2021, 2, 3, 12, 0, 47),
            categories=(),
        ),
    ),
    "feeds/wp-dcrainmaker-rss2.xml": Expect(
        8,
        First(
            "Huge Fall Sale: 20% of All Trainers & Most Power Meters, $100 off Fenix 5, "
            "GoPro Hero6 deal!",
            categories=("Blog", "Clever Training", "Clever Training VIP", "Sales"),
            comment_count=148,
            no_comments_feed=True,
            comments_url=(
                "https://www.dcrainmaker.com/2017/11/trainers-power-meters-fenix5-sale.html#comments"
            ),
        ),
        distinct_categories=31,
        no_comment_feeds=True,
    ),
    "feeds/wp-girtby-atom.xml": Expect(
        10,
        First(
            "Last Post!",
            comment_count=2,
            comments_feed="http://girtby.net/archives/2009/09/18/last-post/feed/atom/",
            guid="http://girtby.net/?p=3909",
        ),
        all_comment_feeds=True,
    ),
    "feeds/wp-girtby-rss2.xml": Expect(
        10,
        First(
            "Last Post!",
            categories=("Meta",),
            comments_feed="http://girtby.net/archives/2009/09/18/last-post/feed/",
            comment_count=2,
            guid="http://girtby.net/?p=3909",
        ),
        distinct_categories=36,
        all_comment_feeds=True,
    ),
    "feeds/wp-machinelearningtheory-rss2.xml": Expect(
        10,
        First(
            "Nearly all natural problems require nonlinearity",
            categories=("Machine Learning", "Supervised"),
            comments_feed="http://hunch.net/?feed=rss2&p=524",
            unknown_comment_count=True,
        ),
        all_comment_feeds=True,
    ),
    "feeds/wp-manton-rss2.xml": Expect(
        10,
        First(
            link="http://www.manton.org/2015/09/3071.html",
            categories=("Snippets",),
            comments_feed="http://www.manton.org/2015/09/3071.html/feed",
            comment_count=0,
        ),
    ),
    "feeds/wp-natasha-rss2.xml": Expect(
        10,
        First(
            "The Easiest Way to Get a URL for your Apple Wallet Passkit Pass",
            categories=("iPhone", "event", "ios", "passkit", "passkit pass", "wallet"),
            comments_feed="https://www.natashatherobot.com/url-apple-wallet-passkit-pass/feed/",
            comment_count=6,
            author="Natasha Murashev",
        ),
        all_comment_feeds=True,
    ),
    "feeds/wp-norm2782-atom.xml": Expect(
        10,
        First(
            "Wth… reading books?",
            categories=("New Zealand", "Personal", "Programming", "Study"),
            comments_feed="http://www.norm2782.com/2009/03/wth-reading-books/feed/atom/",
            comment_count=0,
            guid="http://www.norm2782.com/?p=114",
        ),
    ),
    "feeds/wp-norm2782-rss2.xml": Expect(
        10,
        First(
            "Wth… reading books?",
            categories=("New Zealand", "Personal", "Programming", "Study"),
            comments_feed="http://www.norm2782.com/2009/03/wth-reading-books/feed/",
            comment_count=0,
            guid="http://www.norm2782.com/?p=114",
        ),
    ),
    "feeds/wp-podbean-podcast-rss2.xml": Expect(
        50,
        First(
            "S03E11: Finding Nemo-rocco",
            categories=("Uncategorized",),
            comments_feed="http://aroundthebloc.podbean.com/e/s03e11-finding-nemo-rocco/feed/",
        ),
        distinct_categories=17,
        all_comment_feeds=True,
    ),
    "feeds/wp-rsscom-blog-rss2-100items.xml": Expect(
        100,
        First(
            "Protected: How to Start a Second Podcast",
            categories=("Uncategorized",),
            author="brian",
        ),
        no_comment_feeds=True,
    ),
    "feeds/wp-sametmax-fr-rss2.xml": Expect(
        10,
        First(
            "Les mensonges des DSL",
            categories=("Programmation", "dsl", "lisp", "python", "ruby"),
            comments_feed="http://sametmax.com/les-mensonges-des-dsl/feed/",
            comment_count=5,
        ),
        feed_title="Sam & Max: Python, Django, Git et du cul",
    ),
    "feeds/wp-wordpress-news-rss2.xml": Expect(
        30,
        First(
            "WordPress 5.9.3 Maintenance Release",
            categories=("Releases", "5.9"),
            author="Jb Audras",
            published=utc(2022, 4, 5, 19, 50, 17),
        ),
        distinct_categories=29,
        no_comment_feeds=True,
    ),
    # ------------------------------------------------------------------ comments/
    "comments/blogger-comments-gdata-sample-atom-thr.xml": Expect(
        1,
        First("This is my first comment", author="Blog Author name"),
        feed_title="My Blog : Time to relax",
    ),
    "comments/wp-girtby-comments-archiving-tweets.xml": Expect(
        3, First("By: Aristotle Pagaltzis", published=utc(2009, 8, 24, 5, 14, 21))
    ),
    "comments/wp-girtby-comments-blog-export-format.xml": Expect(
        9,
        First(
            "By: Aristotle Pagaltzis",
            published=utc(2006, 8, 14, 8, 52, 50),
            guid="http://girtby.net/2007/02/20/towards-a-common-blog-export-format#comment-1465",
        ),
    ),
    "comments/wp-girtby-comments-easiest-100.xml": Expect(
        4,
        First("By: Chris", published=utc(2009, 8, 4, 5, 20, 1)),
        feed_title="Comments on: Easiest $100 I’ll Ever Make",
    ),
    "comments/wp-girtby-comments-last-post.xml": Expect(
        2, First("By: Arash Partow", published=utc(2009, 9, 22, 1, 2, 42))
    ),
    "comments/wp-girtby-sitewide-comments-atom-thr.xml": Expect(
        10,
        First(
            "Comment on Staging Wordpress With Bazaar by Jonno",
            guid="http://girtby.net/?p=3851#comment-15179",
        ),
    ),
    "comments/wp-girtby-sitewide-comments-rss2.xml": Expect(
        10, First("Comment on Staging Wordpress With Bazaar by Jonno")
    ),
    "comments/wp-whizzy-comments-alexa-oauth.xml": Expect(
        13,
        First(
            author=(
                "Smart Home Skill entwicklen | Authentifizierung und Device Discovery"
                " | Smart Home Sri Lanka"
            )
        ),
    ),
    "comments/wp-whizzy-comments-cisco-7941.xml": Expect(
        38,
        First(
            "By: Ricardo",
            published=utc(2021, 5, 19, 18, 49, 15),
            link=f"{WHIZZY}/2017/02/23/cisco-7941-asterisk-and-sip/#comment-7480",
            guid="/?p=882#comment-7480",
        ),
        feed_title="Comments on: Cisco 7941, Asterisk and SIP",
    ),
    "comments/wp-whizzy-comments-dash-searches.xml": Expect(
        33, First("By: Ubuntu retire les liens sponsorisés Amazon | gul13")
    ),
    "comments/wp-whizzy-comments-empty-ginger-beer.xml": Expect(
        0, feed_title="Comments on: Ginger Beer"
    ),
    "comments/wp-whizzy-comments-gmaps-beginners.xml": Expect(
        13,
        First(author="Absolute beginners guide to Google Maps JavaScript v3 — whizzy.org"),
    ),
    "comments/wp-whizzy-sitewide-comments.xml": Expect(
        50,
        First("Comment on Cisco 7941, Asterisk and SIP by Ricardo", guid="/?p=882#comment-7480"),
        feed_title="Comments for whizzy.org",
    ),
    # ------------------------------------------------------------------ broken/
    "broken/all-untitled-wordland-markdown2.rss": Expect(
        25, First(published=utc(2025, 10, 29, 14, 58, 20)), feed_title="links.daveverse.org"
    ),
    "broken/atom-named-rss-daringfireball.rss": Expect(
        47, First("Apple Product Event: Monday March 21", author="John Gruber")
    ),
    "broken/control-char-0x10-lincolnloop.xml": Expect(
        10,
        First(
            "High Performance Django Kickstarter Project", published=utc(2014, 5, 13, 16, 51, 13)
        ),
        malformed=True,
    ),
    "broken/cp1252-byte-in-utf8-ianlandsman.xml": Expect(
        10,
        First(".NET and Java Logging", categories=("General",), published=utc(2009, 1, 15, 19, 2)),
    ),
    # SOURCES.md allows "keep last or both"; carefeed keeps the first (STYLE §4.5, reader #335)
    "broken/dup-guids-untitled-scriptingnews.rss": Expect(48),
    "broken/esc-char-in-pre-notsostupid-wp.xml": Expect(
        10,
        First(
            "ActiveDocument is off the ground",
            categories=("Uncategorized",),
            comments_feed=(
                "http://www.notsostupid.com/blog/2008/01/13/activedocument-is-off-the-ground/feed/"
            ),
        ),
        malformed=True,
        all_comment_feeds=True,
    ),
    "broken/gb2312-kc0011-slashdates.rss": Expect(
        20,
        First(
            "建国35周年纪念，华表，和平鸽",
            author="大鱼儿",
            published=utc(2020, 1, 10, 14, 33),  # zone unknown: read as UTC, like feedparser
            guid="http://www.kc0011.net/dispbbs.asp?BoardID=10&ID=25164257&Page=1",  # the link
        ),
    ),
    "broken/https-namespaces-infokueche-comments-atom.xml": Expect(
        13,
        First(
            "Kommentar zu Infoküche 6 – WWW Conference 2012 (World Wide Web) von Christian Walter"
        ),
    ),
    "broken/https-namespaces-infokueche-comments-rss2-de.xml": Expect(
        13,
        First(
            "Kommentar zu Infoküche 6 – WWW Conference 2012 (World Wide Web) von Christian Walter",
            published=utc(2012, 6, 18, 9, 39, 48),
            author="Christian Walter",
        ),
    ),
    "broken/huge-730-items-giantbomb-podcast.rss": Expect(
        730,
        First(
            "Giant Bombcast 603: Call of Tuesday",
            categories=(
                "GiantBomb",
                "Giant Bomb",
                "Jeff Gerstmann",
                "Ryan Davis",
                "video games",
                "PS3",
                "WiiU",
                "Xbox 360",
                "PC",
                "PSP",
                "DS",
            ),
            published=utc(2019, 10, 1, 22, 30),  # 14:30 PST
        ),
    ),
    "broken/huge-entry-content-yakubin.atom": Expect(
        12,
        First(
            "Thoughts about Prolog",
            published=utc(2025, 1, 17),
            link="https://yakubin.com/notes/thoughts-about-prolog.html",
            no_author=True,
        ),
    ),
    "broken/invalid-charref-huge-nextinpact.xml": Expect(
        45,
        First(
            "Le récap' des tests : si votre console portable s'ennuie, voilà de quoi l'occuper",
            categories=("Jeux video",),
            author="kevin@nextinpact.com",
        ),
        distinct_categories=18,
        malformed=True,
    ),
    "broken/leading-newline-techcrunch-wpcom.xml": Expect(
        20,
        First(
            "Angie’s List Sets Price Range IPO At $11 To $13 Per Share; Valued At Over $600M",
            categories=("TC", "angie\\'s list"),
            comments_feed=(
                "http://techcrunch.com/2011/11/02/"
                "angies-list-prices-ipo-at-11-to-13-per-share-valued-at-over-600m/feed/"
            ),
            comment_count=0,
            link="http://feedproxy.google.com/~r/Techcrunch/~3/kTeeGj4FnwU/",
        ),
        all_comment_feeds=True,
    ),
    "broken/no-dates-heise.rdf": Expect(
        60, First("Facebook f8: Künstliche Intelligenz räumt den Newsfeed auf"), dated=0
    ),
    "broken/odd-dates-ampm-nbcny.xml": Expect(
        1,
        First(
            title_starts="NYC cops search for stabbing suspect",
            categories=("post",),
            published=utc(2023, 12, 16, 14, 2, 33),  # "02:02:33 PM", zone unknown
        ),
    ),
    "broken/odd-dates-double-space-medscape.rss": Expect(
        20,
        First(
            "Caution Urged for Virtual Care Partnerships in Canada",
            categories=("Family Medicine/Primary Care", "News"),
            published=utc(2025, 11, 5, 18, 52, 10),  # 13:52:10 EST
        ),
        distinct_categories=14,
    ),
    "broken/relative-links-whizzy-wp-static.xml": Expect(
        50,
        First(
            "Finally moving to a static site",
            categories=("Making the world a better place",),
            link=f"{WHIZZY}/2021/07/14/finally-moving-to-a-static-site/",
        ),
    ),
    "broken/unbound-wfw-prefix-typepad-pauldix-doctored.xml": Expect(
        5,
        First(
            "Making a Ruby C library even faster",
            categories=("Ruby", "Another Category"),
            no_comments_feed=True,  # "this is the new val" is not a URL
        ),
        malformed=True,
        no_comment_feeds=True,
    ),
    "broken/undeclared-latin1-cercle-psy.xml": Expect(
        7, First("Stéphane Gumpper : Qu'est-ce que la psychologie des religions ?")
    ),
    "broken/undeclared-latin1-uol-noticias-ptdates.rss": Expect(
        15,
        First("Ibope: Bolsonaro perde de Haddad, Ciro e Alckmin em simulações de 2º turno"),
        dated=0,  # Portuguese day and month names: undated, the store falls back to first-seen
    ),
    "broken/undefined-entity-copy-coryforsyth-wp-atom.xml": Expect(
        10,
        First(
            "1.20.2009 part 1: 5:30am-7:30am",
            categories=("politics", "travel"),
            comments_feed="http://coryforsyth.com/2009/01/21/1202009/feed/atom/",
            unknown_comment_count=True,  # thr:total -1
        ),
        malformed=True,
    ),
    "broken/undefined-entity-em-girtby-comments.xml": Expect(
        4,
        First("By: Andrew Sidwell", published=utc(2007, 1, 13, 21, 45, 34)),
        feed_title="Comments on: The Militant Atheism Delusion",
        malformed=True,
    ),
    "broken/undefined-entity-nbsp-dbengines.xml": Expect(
        1,
        First(
            "Snowflake is the DBMS of the Year 2022, defending the title from last year",
            author="Matthias Gelbmann, Paul Andlinger",
            published=utc(2023, 1, 3, 15),
        ),
        malformed=True,
    ),
}


def corpus_files() -> list[str]:
    if not CORPUS.is_dir():
        return []
    return sorted(
        f"{folder}/{path.name}"
        for folder in FOLDERS
        for path in (CORPUS / folder).iterdir()
        if path.is_file()
    )


@functools.cache
def parsed(name: str) -> ParsedFeed:
    return parse_feed((CORPUS / name).read_bytes(), FEED_URLS.get(name, DEFAULT_URL))


def entry(name: str, title: str) -> EntryData:
    matches = [e for e in parsed(name).entries if e.title == title]
    assert len(matches) == 1, f"{title!r} in {name}"
    return matches[0]


def test_every_corpus_file_has_an_expectation() -> None:
    assert set(corpus_files()) == set(EXPECT) | set(ERRORS)


@pytest.mark.parametrize("name", sorted(ERRORS))
def test_pages_that_are_not_feeds_are_refused(name: str) -> None:
    with pytest.raises(ParseError) as caught:
        parsed(name)

    assert str(caught.value) == ERRORS[name]


@pytest.mark.parametrize("name", sorted(EXPECT))
def test_corpus_file_reads_as_sources_md_says(name: str) -> None:
    expect = EXPECT[name]
    started = time.perf_counter()
    result = parsed(name)
    assert time.perf_counter() - started < 20

    entries = result.entries
    assert len(entries) == expect.count
    if expect.feed_title is not None:
        assert result.feed.title == expect.feed_title
    if expect.malformed:
        assert len(result.warnings) == 1
        assert re.fullmatch(r"malformed XML: .+, \d+ posts? recovered", result.warnings[0])
    elif name != "broken/dup-guids-untitled-scriptingnews.rss":
        assert result.warnings == ()
    categories = {c for e in entries for c in e.categories}
    if expect.distinct_categories is not None:
        assert len(categories) == expect.distinct_categories
    if expect.no_categories:
        assert categories == set()
    if expect.all_comment_feeds:
        assert all(e.comments_feed for e in entries)
    if expect.no_comment_feeds:
        assert not any(e.comments_feed for e in entries)
    dated = sum(1 for e in entries if e.published)
    assert dated == (expect.count if expect.dated is None else expect.dated)

    if not entries:
        return
    first, want = entries[0], expect.first
    if want.title is not None:
        assert first.title == want.title
    if want.title_starts is not None:
        assert first.title.startswith(want.title_starts)
    if want.categories is not None:
        assert first.categories == want.categories
    if want.author is not None:
        assert first.author == want.author
    if want.no_author:
        assert first.author is None
    if want.link is not None:
        assert first.link == want.link
    if want.guid is not None:
        assert first.guid == want.guid
    if want.published is not None:
        assert first.published == want.published
    if want.comments_feed is not None:
        assert first.comments_feed == want.comments_feed
    if want.no_comments_feed:
        assert first.comments_feed is None
    if want.comments_url is not None:
        assert first.comments_url == want.comments_url
    if want.comment_count is not None:
        assert first.comment_count == want.comment_count
    if want.unknown_comment_count:
        assert first.comment_count is None


CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b\u200e\u200f\u202a-\u202e\u2066-\u2069]")


@pytest.mark.parametrize("name", sorted(EXPECT))
def test_every_field_is_clean_and_every_link_is_absolute_http(name: str) -> None:
    result = parsed(name)

    lines = [result.feed.title, result.feed.generator or "", *result.warnings]
    for e in result.entries:
        lines += [e.guid, e.title, e.author or "", *e.categories]
        for url in (e.link, e.comments_url, e.comments_feed):
            assert url is None or re.match(r"https?://[^\s/]+", url), url
        for text in (e.summary, e.content):
            assert not CONTROL.search(text.replace("\n", "")), name
        for when in (e.published, e.updated):
            assert when is None or (when.tzinfo is UTC and 1970 <= when.year <= 2100)
        assert e.title and "\ufffd" not in e.title
        assert e.comment_count is None or e.comment_count >= 0
    assert all(not CONTROL.search(line) and "\n" not in line for line in lines)
    assert result.feed.site_url is None or result.feed.site_url.startswith(("http://", "https://"))
    guids = [e.guid for e in result.entries]
    assert len(set(guids)) == len(guids)
    assert all(0 < len(guid) <= GUID_MAX for guid in guids)


# --------------------------------------------------------------------------- details


def test_blogger_thr_total_of_one_on_three_posts() -> None:
    entries = parsed("feeds/blogger-4fsodonline-atom.xml").entries

    ones = [e.title for e in entries if e.comment_count == 1]
    assert len(ones) == 3
    assert "Chapter 12: Closing Credits" in ones
    assert all(e.comment_count is not None for e in entries)


def test_rsscom_category_counts_keep_both_spellings() -> None:
    counts = Counter(
        c for e in parsed("feeds/wp-rsscom-blog-rss2-100items.xml").entries for c in e.categories
    )

    assert counts == {
        "Uncategorized": 77,
        "Podcasting 101": 14,
        "Press Releases": 8,
        "Español": 1,
        "Spanish": 1,
    }


def test_govscot_funding_story_keeps_its_words_without_a_funding_category() -> None:
    second = parsed("feeds/govscot-news-rss2-from-ts.xml").entries[1]

    assert second.title == "Piloting delivery of welfare rights advice in health settings"
    assert second.categories == ("Health",)
    assert "£4.8 million funding" in second.summary


def test_hugo_scripts_in_descriptions_are_not_kept() -> None:
    raw = (CORPUS / "feeds/hugo-ccwupsy-rss2.xml").read_text(encoding="utf-8")
    assert raw.count("kePrint.js") >= 2

    for e in parsed("feeds/hugo-ccwupsy-rss2.xml").entries:
        assert "kePrint" not in e.summary + e.content
        assert "<script" not in e.summary + e.content


def synthesised(e: EntryData) -> bool:
    """Whether the title is the opening words of the post's text (how untitled posts are named)."""
    text = " ".join(re.sub(r"\[\d+\]", "", e.summary or e.content).split())
    return text.startswith(e.title.rstrip("…").rstrip())


@pytest.mark.parametrize(
    ("name", "named"),
    [
        ("feeds/wp-manton-rss2.xml", 4),
        ("broken/all-untitled-wordland-markdown2.rss", 25),
        # 39 items have no <title>; one of them repeats an earlier guid and is dropped
        ("broken/dup-guids-untitled-scriptingnews.rss", 38),
    ],
)
def test_untitled_posts_are_named_by_their_first_words(name: str, named: int) -> None:
    raw = (CORPUS / name).read_text(encoding="utf-8")
    titled_in_xml = {" ".join(t.split()) for t in re.findall(r"<title>(.*?)</title>", raw, re.S)}

    synthetic = [e for e in parsed(name).entries if e.title not in titled_in_xml]

    assert len(synthetic) == named
    assert all(synthesised(e) and e.title != "(untitled)" for e in synthetic)


def test_manton_first_post_is_named_from_its_text() -> None:
    first = parsed("feeds/wp-manton-rss2.xml").entries[0]

    assert first.title == "This week’s Core Intuition is out with a discussion about new and…"
    assert (
        parsed("broken/all-untitled-wordland-markdown2.rss")
        .entries[0]
        .title.startswith("ICE and CBP Agents Are Scanning")
    )


def test_scripting_news_duplicates_keep_the_first_and_warn() -> None:
    result = parsed("broken/dup-guids-untitled-scriptingnews.rss")

    assert result.warnings == ("2 duplicate ids ignored",)
    guids = [e.guid for e in result.entries]
    for duplicated in (
        "http://scripting.com/2017/06/25.html#a080631",
        "http://scripting.com/2017/06/24.html#a100632",
    ):
        assert guids.count(duplicated) == 1
    kept = next(e for e in result.entries if e.guid.endswith("#a080631"))
    assert kept.title == "Good morning Internet guzzlers! 🍺"


@pytest.mark.parametrize(
    ("post_feed", "title", "comments_file", "count"),
    [
        ("feeds/wp-girtby-rss2.xml", "Last Post!", "comments/wp-girtby-comments-last-post.xml", 2),
        (
            "feeds/wp-girtby-rss2.xml",
            "Archiving Tweets",
            "comments/wp-girtby-comments-archiving-tweets.xml",
            3,
        ),
        (
            "feeds/wp-girtby-rss2.xml",
            "Easiest $100 I’ll Ever Make",
            "comments/wp-girtby-comments-easiest-100.xml",
            4,
        ),
        (
            "broken/relative-links-whizzy-wp-static.xml",
            "Cisco 7941, Asterisk and SIP",
            "comments/wp-whizzy-comments-cisco-7941.xml",
            38,
        ),
        (
            "broken/relative-links-whizzy-wp-static.xml",
            "HOWTO: Add OAUTH to your Alexa Smart Home skill in 10 minutes",
            "comments/wp-whizzy-comments-alexa-oauth.xml",
            13,
        ),
        (
            "broken/relative-links-whizzy-wp-static.xml",
            "Online searches in the dash to be off by default.",
            "comments/wp-whizzy-comments-dash-searches.xml",
            33,
        ),
    ],
)
def test_post_links_to_its_comment_feed_with_the_right_count(
    post_feed: str, title: str, comments_file: str, count: int
) -> None:
    post = entry(post_feed, title)

    assert post.comments_feed == FEED_URLS[comments_file]
    assert post.comment_count == count
    assert len(parsed(comments_file).entries) == count


def test_whizzy_relative_feed_has_24_commented_posts() -> None:
    entries = parsed("broken/relative-links-whizzy-wp-static.xml").entries

    commented = [e for e in entries if e.comments_feed]
    assert len(commented) == 24
    assert all(e.comment_count is not None for e in commented)
    assert all(e.comments_feed.startswith(f"{WHIZZY}/") for e in commented)  # type: ignore[union-attr]
    assert all(e.link and e.link.startswith(f"{WHIZZY}/") for e in entries)
    assert parsed("broken/relative-links-whizzy-wp-static.xml").feed.site_url == f"{WHIZZY}/"


@pytest.mark.parametrize(
    ("name", "replies", "oldest_author"),
    [
        ("comments/wp-whizzy-comments-cisco-7941.xml", 10, "Adan"),
        ("comments/wp-whizzy-comments-alexa-oauth.xml", 6, None),
        ("comments/wp-whizzy-comments-dash-searches.xml", 0, None),
        ("comments/wp-whizzy-comments-gmaps-beginners.xml", 2, None),
        ("comments/wp-whizzy-sitewide-comments.xml", 13, "amar"),
        ("comments/wp-girtby-comments-blog-export-format.xml", 0, "Alastair"),
        ("broken/undefined-entity-em-girtby-comments.xml", 0, "Sunny Kalsi"),
    ],
)
def test_comment_feeds_keep_reply_markers_and_authors(
    name: str, replies: int, oldest_author: str | None
) -> None:
    entries = parsed(name).entries

    assert sum(1 for e in entries if e.content.startswith("In reply to ")) == replies
    if oldest_author is not None:
        assert entries[-1].author == oldest_author


def test_whizzy_reply_keeps_the_link_to_its_parent_comment() -> None:
    reply = next(
        e
        for e in parsed("comments/wp-whizzy-comments-cisco-7941.xml").entries
        if e.guid == "/?p=882#comment-171"
    )

    assert reply.content.startswith("In reply to Gareth[1].")
    assert f"[1]: {WHIZZY}/2017/02/23/cisco-7941-asterisk-and-sip/#comment-170" in reply.content


def test_girtby_comment_feeds_name_their_authors() -> None:
    easiest = parsed("comments/wp-girtby-comments-easiest-100.xml").entries
    last_post = parsed("comments/wp-girtby-comments-last-post.xml")

    assert easiest[-1].title == "By: Alan Green"
    assert [e.title for e in last_post.entries] == ["By: Arash Partow", "By: Sunny Kalsi"]
    assert last_post.feed.site_url == "http://girtby.net/archives/2009/09/18/last-post/"


def test_same_posts_in_rss_and_atom_share_ids() -> None:
    for rss_name, atom_name in (
        ("feeds/wp-norm2782-rss2.xml", "feeds/wp-norm2782-atom.xml"),
        ("feeds/wp-girtby-rss2.xml", "feeds/wp-girtby-atom.xml"),
        (
            "comments/wp-girtby-sitewide-comments-rss2.xml",
            "comments/wp-girtby-sitewide-comments-atom-thr.xml",
        ),
    ):
        rss_ids = [e.guid for e in parsed(rss_name).entries]
        atom_ids = [e.guid for e in parsed(atom_name).entries]
        assert rss_ids == atom_ids, (rss_name, atom_name)


def test_sitewide_comment_and_per_post_comment_share_a_guid() -> None:
    sitewide = parsed("comments/wp-whizzy-sitewide-comments.xml").entries[0]
    per_post = parsed("comments/wp-whizzy-comments-cisco-7941.xml").entries[0]

    assert sitewide.guid == per_post.guid == "/?p=882#comment-7480"
    assert sitewide.content == per_post.content


def test_wrong_encodings_decode_without_replacement_characters() -> None:
    for name in (
        "broken/cp1252-byte-in-utf8-ianlandsman.xml",
        "broken/undeclared-latin1-cercle-psy.xml",
        "broken/undeclared-latin1-uol-noticias-ptdates.rss",
        "broken/gb2312-kc0011-slashdates.rss",
    ):
        for e in parsed(name).entries:
            assert "\ufffd" not in e.title + e.summary + e.content + (e.author or ""), name
    apostrophe = [
        e for e in parsed("broken/cp1252-byte-in-utf8-ianlandsman.xml").entries if "’" in e.summary
    ]
    assert apostrophe  # the lone 0x92 byte became a curly apostrophe


def test_raw_control_characters_never_survive() -> None:
    for name in (
        "broken/control-char-0x10-lincolnloop.xml",
        "broken/esc-char-in-pre-notsostupid-wp.xml",
        "broken/invalid-charref-huge-nextinpact.xml",
    ):
        raw = (CORPUS / name).read_bytes()
        assert re.search(rb"[\x00-\x08\x10\x1b]|&#x1F;", raw), name
        for e in parsed(name).entries:
            assert not re.search("[\x00-\x08\x0b-\x1f]", e.title + e.summary + e.content)


def test_huge_content_is_kept_whole_below_the_cap() -> None:
    entries = parsed("broken/huge-entry-content-yakubin.atom").entries

    largest = max(entries, key=lambda e: len(e.content))
    assert largest.title == "Reserve and commit"
    assert 50_000 < len(largest.content) < CONTENT_MAX
    assert largest.content.rstrip().endswith(".") or "[1]: " in largest.content
    assert (
        entry(
            "broken/huge-entry-content-yakubin.atom",
            "Naive Gaussian elimination in floating-point vs exact arithmetic [PDF]",
        ).content
        == ""
    )  # a link-only entry


def test_json_feed_author_comes_from_the_feed() -> None:
    entries = parsed("feeds/jsonfeed-inessential.json").entries

    assert all(e.author == "Brent Simmons" for e in entries)
    assert all(e.guid == e.link for e in entries)
