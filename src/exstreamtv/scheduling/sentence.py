"""The grammar that understands a channel described in a sentence, without an LLM.

``understand("a 90s cartoons channel on weekday mornings, movies at night", facets)``
returns an :class:`~exstreamtv.domain.channel_plans.Understanding`. The sentence is split
into clauses (at commas, semicolons and full stops, and at "and", "then", "plus", "but",
"while"), and each clause is read for:

* **content**: show titles of the library; genres, by the library's own genre names or
  common words for them ("cartoons" is animation, "sitcoms" are comedy shows, "sci-fi" is
  science fiction); decades ("90s", "1980s", "the eighties") and year bounds ("before
  1980", "after 2000", "classic"); kinds ("movies", "shows", "music videos", "idents");
  "everything";
* **times**: day parts ("mornings" 06-12, "afternoons" 12-17, "evenings" 17-20, "at night"
  20-24, "prime time" 20-23, "late night" 23-02, "overnight" 00-06, "all day"...), and
  clock times ("from 6 to 9am", "8pm-11pm", "between 7 and 10 pm", "at 8pm", "noon");
* **weekdays**: day names and abbreviations, ranges ("monday to friday"), "weekdays",
  "weeknights", "weekends", "every day".

A clause with content but no time joins the next timed clause (its collections rotate
there), or, if none follows, fills the rest of the week; a clause with only a time or only
weekdays extends the clause before it; "the rest of the time" / "otherwise" names the
content for time nobody asked for. "with X between shows" or "X as filler" names the
filler; `called "Name"` names the channel. Words the grammar does not know are ignored and
listed in the notes: nothing in a sentence is ever executed.

Pure: the sentence and the library's facets in, the understanding out.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace

from exstreamtv.domain.channel_plans import (
    DAY_MINUTES,
    EVERY_DAY,
    ContentPick,
    LibraryFacets,
    Segment,
    Understanding,
)
from exstreamtv.domain.media import MediaKind

MAX_SENTENCE = 500
MAX_NOTED_WORDS = 12

# canonical genre -> words people use for it (all compared after `normalise`)
GENRE_WORDS: Mapping[str, tuple[str, ...]] = {
    "animation": ("animation", "animated", "cartoon", "cartoons", "toons"),
    "comedy": ("comedy", "comedies", "funny"),
    "drama": ("drama", "dramas"),
    "action": ("action",),
    "adventure": ("adventure", "adventures"),
    "horror": ("horror", "scary", "slasher", "slashers"),
    "science fiction": ("science fiction", "sci fi", "scifi", "sf"),
    "documentary": ("documentary", "documentaries", "docs"),
    "western": ("western", "westerns"),
    "thriller": ("thriller", "thrillers"),
    "romance": ("romance", "romantic", "romcom", "romcoms", "rom com", "rom coms"),
    "crime": ("crime", "detective", "detectives"),
    "family": ("family",),
    "kids": ("kids", "children", "childrens", "children s"),
    "anime": ("anime",),
    "mystery": ("mystery", "mysteries", "whodunit", "whodunits"),
    "fantasy": ("fantasy",),
    "music": ("music", "concerts", "concert"),
    "news": ("news",),
    "sport": ("sport", "sports"),
    "war": ("war",),
    "history": ("history", "historical"),
    "musical": ("musical", "musicals"),
    "game show": ("game show", "game shows", "quiz show", "quiz shows"),
    "reality": ("reality",),
    "talk show": ("talk show", "talk shows"),
    "soap": ("soap", "soaps", "soap opera", "soap operas"),
    "biography": ("biography", "biopic", "biopics"),
}
GENRE_ALSO: Mapping[str, tuple[str, ...]] = {"kids": ("family",)}  # kids' shows are family
KIND_WORDS: Mapping[str, MediaKind] = {
    "music videos": MediaKind.MUSIC_VIDEO, "music video": MediaKind.MUSIC_VIDEO,
    "videoclips": MediaKind.MUSIC_VIDEO, "movies": MediaKind.MOVIE, "movie": MediaKind.MOVIE,
    "films": MediaKind.MOVIE, "film": MediaKind.MOVIE, "features": MediaKind.MOVIE,
    "cinema": MediaKind.MOVIE, "tv shows": MediaKind.EPISODE, "tv series": MediaKind.EPISODE,
    "shows": MediaKind.EPISODE, "show": MediaKind.EPISODE, "series": MediaKind.EPISODE,
    "episodes": MediaKind.EPISODE, "tv": MediaKind.EPISODE, "programmes": MediaKind.EPISODE,
    "programs": MediaKind.EPISODE, "idents": MediaKind.OTHER, "ident": MediaKind.OTHER,
    "bumpers": MediaKind.OTHER, "trailers": MediaKind.OTHER, "shorts": MediaKind.OTHER,
    "interstitials": MediaKind.OTHER, "extras": MediaKind.OTHER,
}  # fmt: skip
SITCOM_WORDS = ("sitcoms", "sitcom")  # comedy, as shows
EVERYTHING_WORDS = ("everything", "anything", "all my media", "all my stuff", "whatever")
LABELS = {
    "movie": "Movies", "film": "Films", "show": "Shows", "music video": "Music Videos",
    "ident": "Idents", "tv": "TV", "tv shows": "TV Shows", "tv series": "TV Series",
    "sci fi": "Sci-Fi", "scifi": "Sci-Fi", "sf": "Sci-Fi", "rom com": "Rom-Com",
    "rom coms": "Rom-Coms", "romcom": "Rom-Com", "romcoms": "Rom-Coms",
}  # fmt: skip
DAY_PARTS: Mapping[str, tuple[int, int]] = {
    "early mornings": (5, 8), "early morning": (5, 8), "late mornings": (10, 12),
    "late morning": (10, 12), "mornings": (6, 12), "morning": (6, 12), "breakfast": (6, 9),
    "lunchtime": (12, 14), "lunch": (12, 14), "midday": (12, 14), "afternoons": (12, 17),
    "afternoon": (12, 17), "after school": (15, 18), "evenings": (17, 20), "evening": (17, 20),
    "prime time": (20, 23), "primetime": (20, 23), "late nights": (23, 26),
    "late night": (23, 26), "nights": (20, 24), "night": (20, 24), "nighttime": (20, 24),
    "tonight": (20, 24), "weeknights": (20, 24), "weeknight": (20, 24), "overnight": (0, 6),
    "after midnight": (0, 6), "daytime": (6, 18), "during the day": (6, 18),
    "all day": (0, 24), "all week": (0, 24), "around the clock": (0, 24), "24 7": (0, 24),
}  # fmt: skip
DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
DAY_ABBREVIATIONS = {
    "mon": 0, "tue": 1, "tues": 1, "wed": 2, "weds": 2, "thu": 3, "thur": 3, "thurs": 3,
    "fri": 4, "sat": 5, "sun": 6,
}  # fmt: skip
DECADE_WORDS = {
    "twenties": 1920, "thirties": 1930, "forties": 1940, "fifties": 1950, "sixties": 1960,
    "seventies": 1970, "eighties": 1980, "nineties": 1990, "noughties": 2000,
}  # fmt: skip
REST_WORDS = re.compile(
    r"\b(?:the rest of the (?:time|day|week)|rest of the (?:time|day|week)|otherwise"
    r"|(?:all )?other times|any other time|the remaining time|the rest)\b"
)
FILLER = re.compile(
    r"\b(?:with|plus|and)\s+(?P<a>[^,;.]+?)\s+(?:in\s+)?between(?:\s+(?:the\s+)?"
    r"(?:shows|programmes|programs|movies|films|episodes|everything|them))?\b"
    r"|(?P<b>[^,;.]+?)\s+as\s+filler\b|\bfiller(?:\s+of|\s+from)?\s+(?P<c>[^,;.]+)"
)
BETWEEN = re.compile(r"\bbetween\s+(\d{1,2}(?::\d{2})?(?:\s*(?:am|pm|a m|p m))?)\s+and\s+")
SHOW_TOKEN = re.compile("\x00(\\d+)\x00")
QUOTED_NAME = re.compile(r"(?:called|named|titled)\s+[\"\u201c]([^\"\u201d]{1,60})[\"\u201d]")
NAME = re.compile(r"\b(?:called|named|titled)\s+(?:\"(?P<q>[^\"]{1,60})\"|(?P<u>[^,;.\"]{1,60}))")
_MERIDIEM = r"(?:\s*(?P<{0}m>am|pm|a m|p m))?"
_CLOCK = r"(?P<{0}h>\d{{1,2}})(?::(?P<{0}n>\d{{2}}))?" + _MERIDIEM
RANGE = re.compile(
    r"\b(?:from\s+|between\s+)?"
    + _CLOCK.format("a")
    + r"\s*(?:to|until|till|til|through|-)\s*"
    + _CLOCK.format("b")
    + r"\b"
)
AT = re.compile(r"\b(?:at|from|after|starting at|starting)\s+" + _CLOCK.format("c") + r"\b")
BARE = re.compile(r"\b(?P<dh>\d{1,2})(?::(?P<dn>\d{2}))?\s*(?P<dm>am|pm)\b")
NAMED_TIME = re.compile(r"\b(?:at\s+|from\s+)?(?P<w>noon|midnight)\b")
DECADE = re.compile(r"\b(?:the\s+)?(?:(?P<century>19|20)(?P<d4>\d)0|(?P<d2>\d)0)\s?s\b")
YEAR_BOUND = re.compile(r"\b(?P<how>before|after|since|from)\s+(?P<year>(?:19|20)\d\d)\b")
SPLIT = re.compile(r"[,;.!?]|\b(?:and then|then|and|plus|but|while|also)\b")
_DAY_WORD = "|".join([*(f"{d}s?" for d in DAYS), *DAY_ABBREVIATIONS])
DAY_RANGE = re.compile(
    rf"\b(?P<a>{_DAY_WORD})\s*(?:-|to|through|thru|until|till)\s*(?P<b>{_DAY_WORD})\b"
)
DAY_NAME = re.compile(rf"\b(?P<d>{_DAY_WORD})\b")
DAY_LIST = re.compile(rf"\b({_DAY_WORD})\s+(?:and|or|&)\s+(?=(?:{_DAY_WORD})\b)")
WEEKDAY_WORDS = re.compile(r"\b(?:weekdays?|weeknights?|school days?|workdays?)\b")
WEEKEND_WORDS = re.compile(r"\bweekends?\b")
EVERY_DAY_WORDS = re.compile(r"\b(?:every ?day|daily|each day|all week|7 days)\b")
WEEKDAY_ONLY_WORDS = re.compile(r"\b(?:weekdays?|school days?|workdays?)\b")  # not weeknights
FILLER_WORDS = frozenset({
    "a", "an", "the", "channel", "channels", "with", "of", "on", "in", "at", "for", "my",
    "some", "and", "to", "i", "want", "make", "me", "create", "please", "give", "like", "would",
    "love", "play", "plays", "playing", "station", "network", "only", "just", "lots", "also",
    "good", "great", "old", "new", "best", "from", "during", "every", "each", "all", "mix",
    "or", "nothing", "but", "plenty", "bit", "time", "times",
})  # fmt: skip


def normalise(text: str) -> str:
    """Lower case, compatibility-folded, apostrophes dropped, "a.m." as "am" and "9.30" as
    "9:30", any other punctuation and control character a space, single spaces (digits,
    ``:``, ``-``, ``"`` and the clause marks ``,;.!?`` kept)."""
    text = unicodedata.normalize("NFKC", text).lower()
    text = re.sub("[\u2019'`\u00b4]", "", text)
    text = re.sub(r"\b([ap])\.\s?m\b\.?", r"\1m", text)
    text = re.sub(r"(\d)\.(\d\d)\b", r"\1:\2", text)
    text = "".join(c if c.isalnum() or c in ':-",;.!?' else " " for c in text)
    return re.sub(r"\s+", " ", text.replace("-", " - ")).strip()


def fold(text: str) -> str:
    """``text`` as lower-case words of letters and digits, single-spaced (titles and genre
    names are compared in this form)."""
    text = re.sub("[\u2019'`\u00b4]", "", unicodedata.normalize("NFKC", text).lower())
    return " ".join(re.split(r"[^a-z0-9]+", text)).strip()


def _words(text: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"[^a-z0-9 ]", " ", text)).strip()


@dataclass
class _Clause:
    text: str
    picks: list[ContentPick] = field(default_factory=list)
    windows: list[tuple[int, int]] = field(default_factory=list)
    weekdays: set[int] = field(default_factory=set)
    rest: bool = False


class _Reader:
    """Reads clauses against one library's vocabulary."""

    def __init__(self, facets: LibraryFacets) -> None:
        self.facets = facets
        self.unknown: list[str] = []
        self.missing: list[str] = []
        self.found_shows: list[str] = []
        folded = ((fold(show), show) for show in facets.shows)
        self._shows = sorted(((f, s) for f, s in folded if f), key=lambda pair: -len(pair[0]))
        self._phrases = _phrases(facets.genres)

    # --- content ---------------------------------------------------------------------

    def protect_shows(self, text: str) -> str:
        """Replace the library's show titles in ``text`` by tokens (before the sentence is
        split or read for times: "Tom and Jerry" and "Friday Night Lights" stay whole)."""
        plain = f" {_words(text)} "
        for phrase, show in self._shows:
            for variant in _show_variants(phrase):
                if f" {variant} " not in plain:  # cheap: only a title present costs a regex
                    continue
                words = r"[^a-z0-9\x00]+".join(map(re.escape, variant.split()))
                pattern = re.compile(rf"(?<![a-z0-9]){words}(?![a-z0-9])")
                if pattern.search(text):
                    token = f" \x00{len(self.found_shows)}\x00 "
                    self.found_shows.append(show)
                    text = pattern.sub(token, text)
                    break
        return text.strip()

    def content(self, clause: _Clause) -> None:
        shows = [self.found_shows[int(n)] for n in SHOW_TOKEN.findall(clause.text)]
        original = f" {_words(clause.text)} "
        text = original
        genres: list[tuple[str, tuple[str, ...]]] = []
        kinds: list[MediaKind] = []
        named: list[str] = []
        for phrase, kind, names in self._phrases:  # longest first: "music videos" > "music"
            if f" {phrase} " not in text:
                continue
            text = text.replace(f" {phrase} ", " | ")
            if kind is not None:
                kinds.append(kind)
                named.append(phrase)
                continue
            genres.append((phrase, names))
            if names:
                named.append(phrase)
            if phrase in SITCOM_WORDS:
                kinds.append(MediaKind.EPISODE)
        everything = any(f" {w} " in text for w in EVERYTHING_WORDS)
        for word in EVERYTHING_WORDS:
            text = text.replace(f" {word} ", " | ")
        years, year_label, text = _years(text)
        self._note_unknown(text)
        self.missing.extend(phrase for phrase, names in genres if not names)
        wanted = sorted({name for _, names in genres for name in names})
        clause.picks = [ContentPick(show, show=show) for show in shows]
        if genres and not wanted:
            return  # every genre asked for is absent: nothing playable but the shows
        if not (wanted or kinds or years != (None, None) or everything):
            return
        named.sort(key=lambda phrase: original.find(f" {phrase} "))
        words = [LABELS.get(phrase, _title(phrase)) for phrase in named]
        label = " ".join([year_label, *words]).strip() or "Everything"
        found = tuple(dict.fromkeys(kinds))
        clause.picks.append(ContentPick(label, found, tuple(wanted), *years))

    def _note_unknown(self, text: str) -> None:
        for word in text.replace("|", " ").split():
            if word not in FILLER_WORDS and not word.isdigit() and len(self.unknown) < 64:
                self.unknown.append(word[:30])

    # --- time ------------------------------------------------------------------------

    def times(self, clause: _Clause) -> None:
        """Clock times win over day parts in one clause ("every night from 10pm to 2am" is
        22:00-02:00); a day part still turns a bare hour into the afternoon ("evenings at
        7" is 19:00)."""
        text = f" {clause.text} "
        clocks: list[tuple[int, int, bool]] = []  # start, end (-1: open), had am/pm
        for match in RANGE.finditer(text):
            start, end = _clock(match, "a"), _clock(match, "b")
            if start is not None and end is not None:
                start, end = _meridiem_range(match, start, end)
                end = end if end > start else end + DAY_MINUTES
                clocks.append((start, end, bool(match["am"] or match["bm"])))
                text = text.replace(match.group(0), " ")
        for pattern, group in ((AT, "c"), (BARE, "d")):
            for match in pattern.finditer(text):
                start = _clock(match, group)
                if start is not None:
                    clocks.append((start, -1, bool(match[f"{group}m"])))
                    text = text.replace(match.group(0), " ")
        parts: list[tuple[int, int]] = []
        for phrase in sorted(DAY_PARTS, key=len, reverse=True):
            if f" {phrase} " in text:
                start, end = DAY_PARTS[phrase]
                parts.append((start * 60, end * 60))
                text = text.replace(f" {phrase} ", " | ")
        for match in NAMED_TIME.finditer(text):
            clocks.append((12 * 60 if match["w"] == "noon" else 0, -1, True))
            text = text.replace(match.group(0), " ")
        later = any(start >= 12 * 60 for start, _ in parts)
        clause.windows = [
            _afternoon(start, end) if later and not meridiem and start < 12 * 60 else (start, end)
            for start, end, meridiem in clocks
        ] or parts
        if REST_WORDS.search(text):
            clause.rest = True
            text = REST_WORDS.sub(" ", text)
        clause.text = text

    def weekdays(self, clause: _Clause) -> None:
        text = f" {clause.text} "
        for match in DAY_RANGE.finditer(text):
            first, last = _day(match["a"]), _day(match["b"])
            span = (last - first) % 7
            clause.weekdays.update((first + n) % 7 for n in range(span + 1))
        text = DAY_RANGE.sub(" ", text)
        if WEEKDAY_WORDS.search(text):
            clause.weekdays.update(range(5))
        if WEEKEND_WORDS.search(text):
            clause.weekdays.update((5, 6))
        if EVERY_DAY_WORDS.search(text):
            clause.weekdays.update(EVERY_DAY)
        for match in DAY_NAME.finditer(text):
            clause.weekdays.add(_day(match["d"]))
        for pattern in (WEEKDAY_ONLY_WORDS, WEEKEND_WORDS, EVERY_DAY_WORDS, DAY_NAME):
            text = pattern.sub(" ", text)
        clause.text = text


def understand(sentence: str, facets: LibraryFacets) -> Understanding:
    """Understand ``sentence`` (at most :data:`MAX_SENTENCE` characters; longer is cut)
    against ``facets``. Raises nothing: what cannot be understood is noted."""
    original = sentence[:MAX_SENTENCE]
    reader = _Reader(facets)
    text = reader.protect_shows(normalise(original))
    text = BETWEEN.sub(r"from \1 to ", text)
    text = DAY_LIST.sub(r"\1 ", text)  # "friday and saturday nights" is one clause
    name, text = _name(original, text)
    filler, text = _filler(reader, text)
    clauses = [_Clause(part.strip()) for part in SPLIT.split(text) if part.strip()]
    for clause in clauses:
        reader.weekdays(clause)
        reader.times(clause)
        reader.content(clause)
    segments, rest = _assemble(clauses)
    notes = tuple(_notes(reader))
    return Understanding(tuple(_close_open_windows(segments)), rest, filler, name, notes)


def _assemble(clauses: list[_Clause]) -> tuple[list[Segment], tuple[ContentPick, ...] | None]:
    """Clauses to segments (see the module docstring for how clauses combine)."""
    segments: list[Segment] = []
    waiting: list[ContentPick] = []
    rest: list[ContentPick] = []
    for clause in clauses:
        windows, days = tuple(clause.windows), frozenset(clause.weekdays)
        if clause.rest:
            rest += clause.picks or waiting
            waiting = []
        elif clause.picks or (waiting and (windows or days)):
            if not windows and not days:
                waiting += clause.picks
                continue
            picks = tuple(waiting + clause.picks)
            segments.append(Segment(picks, days or EVERY_DAY, windows or ((0, DAY_MINUTES),)))
            waiting = []
        elif segments and windows and days:
            segments.append(Segment(segments[-1].picks, days, windows))
        elif segments and (windows or days):
            segments.append(_widen(segments.pop(), windows, days))
    if waiting and not segments:
        segments.append(Segment(tuple(waiting)))
    elif waiting:
        rest += waiting
    return segments, (tuple(rest) if rest else None)


def _widen(segment: Segment, windows: tuple[tuple[int, int], ...], days: frozenset[int]) -> Segment:
    """A clause with only times, or only weekdays, adds them to the segment before it."""
    if days:
        return replace(segment, weekdays=segment.weekdays | days)
    whole = segment.windows == ((0, DAY_MINUTES),)
    return replace(segment, windows=windows if whole else segment.windows + windows)


def _close_open_windows(segments: list[Segment]) -> list[Segment]:
    """An open window ("at 8pm") lasts until the next window that starts later that day,
    or until midnight."""
    starts = sorted({start for s in segments for start, _ in s.windows})
    closed = []
    for segment in segments:
        windows = tuple(
            (start, end if end >= 0 else next((s for s in starts if s > start), DAY_MINUTES))
            for start, end in segment.windows
        )
        closed.append(replace(segment, windows=windows))
    return closed


def _notes(reader: _Reader) -> list[str]:
    notes = [f"Your library has no {missing}; that part was left out."
             for missing in dict.fromkeys(reader.missing)]  # fmt: skip
    unknown = list(dict.fromkeys(reader.unknown))[:MAX_NOTED_WORDS]
    if unknown:
        notes.append("Not understood (ignored): " + ", ".join(unknown))
    return notes


def _name(original: str, text: str) -> tuple[str | None, str]:
    match = NAME.search(text)
    if match is None:
        return None, text
    quoted = QUOTED_NAME.search(original)
    raw = quoted.group(1) if quoted else (match["q"] or match["u"] or "")
    name = " ".join("".join(c for c in raw if c.isprintable()).split())[:60]
    return (_title(name) if name and not quoted else name) or None, text.replace(match[0], " , ")


def _filler(reader: _Reader, text: str) -> tuple[ContentPick | None, str]:
    match = FILLER.search(text)
    if match is None:
        return None, text
    clause = _Clause(match["a"] or match["b"] or match["c"] or "")
    reader.content(clause)
    return (clause.picks[0] if clause.picks else None), text.replace(match[0], " , ")


def _years(text: str) -> tuple[tuple[int | None, int | None], str, str]:
    """(year_min, year_max), a label, and the text without the year words."""
    low: int | None = None
    high: int | None = None
    label = ""
    match = DECADE.search(text)
    if match:
        if match["century"]:
            start = int(match["century"]) * 100 + int(match["d4"]) * 10
        else:
            digit = int(match["d2"])
            start = (2000 if digit <= 2 else 1900) + digit * 10
        low, high, label = start, start + 9, f"{start % 100:02d}s"
        text = text.replace(match[0], " | ")
    for word, start in DECADE_WORDS.items():
        if f" {word} " in text:
            low, high, label = start, start + 9, f"{start % 100:02d}s"
            text = text.replace(f" {word} ", " | ")
    if " classic " in text:
        high, label = 1979 if high is None else high, label or "Classic"
        text = text.replace(" classic ", " | ")
    for bound in YEAR_BOUND.finditer(text):
        year = int(bound["year"])
        if bound["how"] == "before":
            high, label = year - 1, label or f"Pre-{year}"
        else:
            low = year + (bound["how"] == "after")
            label = label or f"{'Post' if bound['how'] == 'after' else 'Since'}-{year}"
        text = text.replace(bound[0], " | ")
    return (low, high), label, text


def _clock(match: re.Match[str], group: str) -> int | None:
    hour = int(match[f"{group}h"])
    minute = int(match[f"{group}n"] or 0)
    meridiem = (match[f"{group}m"] or "").replace(" ", "")
    if minute > 59 or hour > 24 or (meridiem and not 1 <= hour <= 12):
        return None
    if meridiem == "pm" and hour != 12:
        hour += 12
    elif meridiem == "am" and hour == 12:
        hour = 0
    return min(hour * 60 + minute, DAY_MINUTES)


def _meridiem_range(match: re.Match[str], start: int, end: int) -> tuple[int, int]:
    """ "from 7 to 10pm": a bare start takes the end's am/pm when that keeps it before
    the end ("from 10 to 2am" starts at 22:00)."""
    if match["am"] or not match["bm"]:
        return start, end
    hour = int(match["ah"])
    if match["bm"].replace(" ", "") == "pm" and hour < 12 and start + 12 * 60 < end:
        return start + 12 * 60, end
    if match["bm"].replace(" ", "") == "am" and start > end and hour < 12:
        return start + 12 * 60, end
    return start, end


def _afternoon(start: int, end: int) -> tuple[int, int]:
    """A window given without am/pm, moved twelve hours later."""
    return start + 12 * 60, end if end < 0 else end + 12 * 60


def _day(word: str) -> int:
    word = word.rstrip("s") if word.rstrip("s") in DAYS else word
    return DAYS.index(word) if word in DAYS else DAY_ABBREVIATIONS[word]


def _show_variants(phrase: str) -> Iterable[str]:
    yield phrase
    if phrase.startswith("the ") and len(phrase) > 6:
        yield phrase[4:]


def _phrases(
    genres: Mapping[str, int],
) -> list[tuple[str, MediaKind | None, tuple[str, ...]]]:
    """Every phrase that names content, longest first: kinds (``(phrase, kind, ())``), the
    library's own genre names and the common words of :data:`GENRE_WORDS`
    (``(phrase, None, library genre names)``; no names when the library lacks it)."""
    library = {fold(name): name for name in genres if fold(name)}
    found: dict[str, set[str]] = {phrase: {name} for phrase, name in library.items()}
    for canonical, words in GENRE_WORDS.items():
        names = {name for folded, name in library.items() if _names_genre(folded, canonical)}
        for word in (*words, *SITCOM_WORDS) if canonical == "comedy" else words:
            found.setdefault(word, set()).update(names)
    phrases: list[tuple[str, MediaKind | None, tuple[str, ...]]] = [
        (phrase, None, tuple(sorted(names))) for phrase, names in found.items()
    ]
    phrases += [(phrase, kind, ()) for phrase, kind in KIND_WORDS.items() if phrase not in found]
    return sorted(phrases, key=lambda entry: -len(entry[0]))


def _names_genre(folded: str, canonical: str) -> bool:
    """True when a library genre (folded) is ``canonical``, one of its words or one of
    :data:`GENRE_ALSO`, alone or in a compound such as "Action & Adventure"."""
    padded = f" {folded} "
    return any(f" {word} " in padded for word in _GENRE_FOLDED[canonical])


def _title(text: str) -> str:
    return " ".join(w if w[:1].isdigit() else w[:1].upper() + w[1:] for w in text.split())


_GENRE_FOLDED = {
    canonical: tuple(fold(w) for w in (canonical, *words, *GENRE_ALSO.get(canonical, ())))
    for canonical, words in GENRE_WORDS.items()
}
