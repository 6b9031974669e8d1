"""The index itself: each stemmed term's postings with BM25 weights, the query words it
resolves to (synonyms, typo fixes, sound-alike spellings), and the look-ups that need no
ranking (titles, shared words, likely duplicate questions)."""

from __future__ import annotations

import math
from array import array
from collections import defaultdict
from collections.abc import Collection, Iterable, Iterator

from rapidfuzz import process
from rapidfuzz.distance import Levenshtein

from storage.search.intents import Hit, Record
from storage.search.words import (
    _TOPIC_TAIL,
    DELAY_WORDS,
    FILLER,
    K1,
    KIND_WORDS,
    NUMBERS,
    PLACE_WORDS,
    SIMILAR_COVERAGE,
    STATUS_WORDS,
    STOP,
    SYNONYMS,
    TOPIC_MARKS,
    TOPIC_WORDS,
    B,
    spellings,
    stem,
    title_words,
    tokens,
)
from storage.text import fold, without_tags


class Postings:
    """The items a term appears in, with its weighted frequency in each.

    Two flat arrays instead of a list of tuples: with 20,000 works that is a few megabytes
    instead of some forty (a tuple and a float object per entry).
    """

    __slots__ = ("items", "weights")

    def __init__(self) -> None:
        self.items = array("I")
        self.weights = array("d")

    def add(self, item: int, weight: float) -> None:
        """Record that the term appears in `item` with this weight."""
        self.items.append(item)
        self.weights.append(weight)

    def __len__(self) -> int:
        return len(self.items)

    def __iter__(self) -> Iterator[tuple[int, float]]:
        return zip(self.items, self.weights, strict=True)


class TermIndex:
    """The terms of the indexed items, with BM25's figures and typo tolerance."""

    def __init__(self, records: Iterable[Record], comuna_names: dict[str, str] | None = None):
        self.records = list(records)
        self._topics: dict[str, tuple[frozenset[str], frozenset[str], frozenset[str]]] = {}
        self.comuna_names = {fold(name): code for name, code in (comuna_names or {}).items()}
        self.comuna_codes = frozenset(self.comuna_names.values())
        self.name_of = {code: name for name, code in self.comuna_names.items()}
        # A word of a comuna's longer name that no other name has also names it.
        named: dict[str, set[str]] = defaultdict(set)
        for name, code in self.comuna_names.items():
            parts = [w for w in name.split() if w not in STOP and len(w) >= 5]
            for word in parts if len(name.split()) > 1 else ():
                named[word].add(code)
        self.comuna_words = {w: next(iter(c)) for w, c in named.items() if len(c) == 1}
        self.sector_words: frozenset[str] = frozenset()  # programs' head words («salud»)
        self.postings: dict[str, Postings] = defaultdict(Postings)
        lengths = array("d")  # each item's weighted length, for BM25's normalisation
        for index, record in enumerate(self.records):
            weighted: dict[str, float] = defaultdict(float)
            for text, weight in record.fields:
                for word in tokens(text):
                    if word not in STOP and (len(word) > 2 or word.isdigit()):
                        weighted[stem(word)] += weight
            record.fields = []  # indexed: the texts are not needed any more (memory)
            if record.topic:
                record.topic_terms, record.topic_head, record.topic_words = (
                    self._topic_sets(record.topic))
                record.topic = ""
            lengths.append(sum(weighted.values()))
            for term, tf in weighted.items():
                self.postings[term].add(index, tf)
        self.avg_length: float = (sum(lengths) / len(lengths)) if lengths else 1.0
        self.sector_words = frozenset(w for _, _, head in self._topics.values() for w in head)
        # BM25's length normalisation of each item, computed once: k1 · (1 − b + b · len/avg).
        self.norms = array("d", (K1 * (1 - B + B * n / self.avg_length) for n in lengths))
        # Typo fixes look only at words with the same first letter: far fewer candidates, and
        # a typo in the first letter is rare on a phone keyboard.
        self.vocabulary: dict[str, list[str]] = defaultdict(list)
        for term in self.postings:
            self.vocabulary[term[0]].append(term)
        total = max(len(self.records), 1)
        self.idf = {
            t: math.log(1 + (total - len(p) + 0.5) / (len(p) + 0.5))
            for t, p in self.postings.items()
        }

    def _topic_sets(
        self, topic: str
    ) -> tuple[frozenset[str], frozenset[str], frozenset[str]]:
        """Return a topic's stems, its head's stems and its head's words, one shared copy
        per distinct topic. The head, up to the first «y», comma or colon, names the sector:
        «Vías, andenes y alumbrado» is about roads, and mentions sidewalks and lighting."""
        sets = self._topics.get(topic)
        if sets is None:
            words = [w for w in tokens(topic) if w not in STOP and len(w) > 2]
            head = [w for w in tokens(_TOPIC_TAIL.split(topic, maxsplit=1)[0])
                    if w not in STOP and len(w) > 2]
            sets = self._topics[topic] = (frozenset(stem(w) for w in words),
                                          frozenset(stem(w) for w in head), frozenset(head))
        return sets

    def _resolve(self, word: str) -> list[str]:
        """Return the indexed terms a query word stands for (itself, synonyms, or a typo fix)."""
        candidates = [word, *SYNONYMS.get(word, [])]
        found = []
        for candidate in candidates:
            term = stem(candidate)
            if term in self.postings:
                found.append(term)
            elif len(term) >= 4 and not term.isdigit():
                match = process.extractOne(
                    term,
                    self.vocabulary.get(term[0], []),
                    scorer=Levenshtein.distance,
                    score_cutoff=1 if len(term) < 7 else 2,
                )
                if match is not None:
                    found.append(match[0])
        if not found and len(word) >= 5 and not word.isdigit():
            # Spelling as it sounds («educasion», «bivienda», «ospital»): try the usual
            # confusions of Spanish spelling before giving up on the word.
            found = [t for t in (stem(c) for v in spellings(word)
                                 for c in (v, *SYNONYMS.get(v, []))) if t in self.postings][:1]
        # The stemmer cuts «taller» to «tall» but «talleres» to «taller»: try the singular.
        singular = (word[:-2] if word.endswith("es") and len(word) > 5
                    else word[:-1] if word.endswith("s") and len(word) > 4 else "")
        # A word naming a section («pagado», «licitaciones») matches that section's items.
        mark = TOPIC_MARKS.get(TOPIC_WORDS.get(word, ""), "")
        found.extend(t for t in (stem(singular), stem(mark)) if t and t in self.postings)
        return list(dict.fromkeys(found))

    def _is_word(self, word: str) -> bool:
        """Tell whether a folded word is one the index or the questions use."""
        return (word in STOP or word in TOPIC_WORDS or word in KIND_WORDS or word.isdigit()
                or word in NUMBERS or word in PLACE_WORDS or word in self.comuna_words
                or (len(word) > 2 and stem(word) in self.postings))

    def mend(self, words: list[str]) -> list[str]:
        """Join words a voice keyboard split («poli deportivo», «cuan to») and split words it
        ran together («sanantonio»), when only the mended form is a word here."""
        mended: list[str] = []
        i = 0
        while i < len(words):
            word, after = words[i], words[i + 1] if i + 1 < len(words) else ""
            if after and not (self._is_word(word) and self._is_word(after)) and (
                    self._is_word(word + after)):
                mended.append(word + after)
                i += 2
                continue
            if len(word) >= 7 and not self._is_word(word):
                cut = next((c for c in range(3, len(word) - 2) if self._is_word(word[:c])
                            and self._is_word(word[c:]) and word[:c] not in STOP), 0)
                if cut:
                    mended.extend((word[:cut], word[cut:]))
                    i += 1
                    continue
            mended.append(word)
            i += 1
        return mended

    def shared_words(self, title: str, kind: str) -> list[str]:
        """Return the words of a title that other items of its kind hold too: what kind of
        thing it is («puente peatonal»), not which one («de La Pedregosa»)."""
        words = [w for w in tokens(title) if w not in STOP and len(w) > 2]
        places = {w for name in self.comuna_names for w in name.split()}

        def alike(word: str) -> int:
            postings = self.postings.get(stem(word))
            return sum(self.records[i].kind == kind for i in postings.items) if postings else 0

        return [w for w in words if alike(w) >= 2 and w not in self.comuna_words
                and w not in places]

    def titled(self, text: str) -> list[Hit]:
        """Return the items whose title holds every word of `text` (as stems): «informe de
        contratación» names the contracting report, not only two sections."""
        wanted = {stem(w) for w in tokens(text) if w not in STOP and len(w) > 2}
        if not wanted:
            return []
        return [Hit(r.kind, r.key, r.title, 1.0, r.ref) for r in self.records
                if wanted <= {stem(w) for w in title_words(r.title)}]

    def knows(self, word: str) -> bool:
        """Tell whether a folded word means something here: indexed (or a synonym, a typo
        of an indexed word), a section, a status, a comuna's name or number. A figure typed
        otherwise than the data writes it («30000» for «30.000») is not known."""
        return bool(word in self.comuna_codes or word in PLACE_WORDS or self._resolve(word)
                    or word in TOPIC_WORDS
                    or word in KIND_WORDS or word in STATUS_WORDS or word in DELAY_WORDS
                    or word in self.comuna_words or word in FILLER
                    or any(word in name.split() for name in self.comuna_names))

    def similar(self, text: str, *, kind: str, exclude: Collection[str] = (),
                limit: int = 3) -> list[Hit]:
        """Return the items of `kind` that say most of what `text` says (likely duplicates),
        best first: the same words, synonyms and typo fixes as a search, scored the same way,
        but with no intents (a question that names a comuna or a status is still a question),
        and holding at least half of its meaningful words (and two of them)."""
        words = [w for w in self.mend(tokens(without_tags(text)))
                 if w not in STOP and (len(w) > 2 or w.isdigit())]
        groups = [g for g in (self._resolve(w) for w in dict.fromkeys(words)) if g]
        if not groups:
            return []
        scores: dict[int, float] = defaultdict(float)
        matched: dict[int, int] = defaultdict(int)
        for group in groups:
            best: dict[int, float] = {}
            for term in group:
                idf = self.idf[term] * (K1 + 1)
                for index, tf in self.postings[term]:
                    record = self.records[index]
                    if record.kind != kind or record.key in exclude:
                        continue
                    best[index] = max(best.get(index, 0.0), idf * tf / (tf + self.norms[index]))
            for index, value in best.items():
                scores[index] += value
                matched[index] += 1
        needed = min(len(groups), max(2, math.ceil(len(groups) * SIMILAR_COVERAGE)))
        found = [Hit(kind, self.records[i].key, self.records[i].title, score, self.records[i].ref)
                 for i, score in scores.items() if matched[i] >= needed]
        found.sort(key=lambda h: (-h.score, h.key))
        return found[:limit]
