"""Ranking: a question parsed into intents and words, items scored BM25-style with field
weights and topics, and only the items that cover enough of the question kept."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace

from storage.search.index import TermIndex
from storage.search.intents import Hit, _comuna_intent, _in_status, _Query, _status_intent, _topics
from storage.search.words import (
    DELAY_WORDS,
    EXACT_BOOST,
    FILLER,
    K1,
    KIND_ORDER,
    KIND_WORDS,
    MIN_COVERAGE,
    OWN_WORDS_BOOST,
    OWN_WORDS_TOP,
    PLAN_WORDS,
    STOP,
    STRONG_WEIGHT,
    SYNONYMS,
    TOPIC_BOOST,
    TOPIC_KINDS,
    WHEN_BOOST,
    WHEN_WORDS,
    _folded,
    spellings,
    title_words,
    tokens,
)


class RankedIndex(TermIndex):
    """The index's ranking of a parsed question (see `SearchIndex` for the public calls)."""

    def _parse(self, text: str) -> _Query:
        """Split a question into intents (comuna, status, sections) and words to match."""
        words = self.mend(tokens(text))
        codes, words, other_comuna = _comuna_intent(words, self.comuna_codes)
        comuna = codes[0] if codes else None
        for code in codes:  # «comuna 11 sur»: the name after the number says the same comuna
            said = self.name_of.get(code, "").split()
            if said and any(words[i:i + len(said)] == said for i in range(len(words))):
                at = next(i for i in range(len(words)) if words[i:i + len(said)] == said)
                words = words[:at] + words[at + len(said):]
        explicit = comuna is not None
        delayed = bool(DELAY_WORDS.intersection(words)) and bool(
            {"obra", "obras"}.intersection(words))
        status, words = _status_intent(words)
        folded = " ".join(words)
        name_words: set[str] = set()
        for name, code in self.comuna_names.items():
            if len(name) > 4 and f" {name} " in f" {folded} ":
                comuna = comuna or code
                name_words.update(name.split())
        if comuna is None:  # «cabecera» for «Cabecera del Llano», «cabesera» too, and
            for word in words:  # «provensa» for «Provenza»
                spelt = next((v for v in (word, *spellings(word))
                              if v in self.comuna_words or v in self.comuna_names),
                             None) if len(word) >= 5 else None
                if spelt is not None:
                    comuna = self.comuna_words.get(spelt) or self.comuna_names[spelt]
                    name_words.add(word)
                    break
        content = [w for w in words if w not in STOP and (len(w) > 2 or w.isdigit())]
        topics, topic_words = _topics(content)
        wanted_kinds = {KIND_WORDS[w] for w in words if w in KIND_WORDS}
        wanted_kinds |= {TOPIC_KINDS[t] for t in topics if t in TOPIC_KINDS}
        framing = PLAN_WORDS & topic_words if "metas" in topics else set()
        meaningful = [w for w in content if w not in KIND_WORDS and w not in framing]
        rest = [w for w in meaningful
                if w not in topic_words and w not in name_words and w not in FILLER
                and not (len(w) == 4 and w.startswith(("19", "20")))]  # «presupuesto 2026»
        when = bool(WHEN_WORDS.intersection(words))
        return _Query(words, comuna, explicit, status, wanted_kinds, meaningful, topics, rest,
                      when, tuple(codes) or ((comuna,) if comuna else ()), other_comuna,
                      delayed, self._alternatives(words, meaningful))

    def _alternatives(self, words: list[str], meaningful: list[str]) -> tuple[
            tuple[str, ...], ...]:
        """Return one set of words per sector when the question joins sectors with «y»/«o»
        («metas de salud y educación»): each is searched on its own and the answers merged.
        Empty when it does not."""
        run: list[str] = []
        joined = False
        for word in [*words, ""]:
            if word in self.sector_words:
                run.append(word)
            elif word in ("y", "o", "e") and run:
                joined = True
            elif len(run) >= 2 and joined:
                break
            else:
                run, joined = [], False
        if len(run) < 2 or not joined or not set(run) <= set(meaningful):
            return ()
        others = [w for w in meaningful if w not in run]
        return tuple((*others, sector) for sector in dict.fromkeys(run))

    def _works_filter(self, query: _Query) -> bool:
        """Whether the question asks for works by status and/or comuna and nothing else."""
        named = query.status is not None or (
            query.comuna is not None and "obra" in query.wanted_kinds
        )
        return named and not query.rest

    @staticmethod
    def _topic_only(query: _Query) -> bool:
        """Whether the question names sections and nothing more specific."""
        return bool(query.topics) and not query.rest and query.comuna is None and (
            query.status is None
        )

    def _rank(self, query: _Query, dropped: list[Hit] | None = None) -> list[Hit]:
        """Return every match of a parsed question, best first (see `_score` for dropped)."""
        if self._topic_only(query):
            return []  # «presupuesto», «metas del plan»: the section, not one item
        if self._works_filter(query):
            found = [
                Hit(r.kind, r.key, r.title, 1.0, r.ref)
                for r in self.records
                if r.kind == "obra"
                and (query.status is None or _in_status(r, query.status, query.today))
                and (not query.comunas or r.comuna in query.comunas)
            ]
            found.sort(key=lambda h: (_folded(h.title), h.key))
            return found
        if query.alternatives:  # «metas de salud y educación»: each sector, merged
            merged: dict[tuple[str, str], Hit] = {}
            for words in query.alternatives:
                for hit in self._score(replace(query, meaningful=list(words),
                                               alternatives=()), dropped):
                    known = merged.get((hit.kind, hit.key))
                    if known is None or hit.score > known.score:
                        merged[(hit.kind, hit.key)] = hit
            return sorted(merged.values(),
                          key=lambda h: (-h.score, KIND_ORDER.index(h.kind), h.key))
        return self._score(query, dropped)

    def _score(self, query: _Query, dropped: list[Hit] | None = None) -> list[Hit]:
        """Score items BM25-style against the question's words; best first. Works of other
        comunas than the one named are left out, and added to `dropped` when given."""
        comuna, wanted_kinds, meaningful = query.comuna, query.wanted_kinds, query.meaningful
        comunas = set(query.comunas)
        groups = [self._resolve(w) for w in meaningful]
        # A word found in a third of everything ("calle" in every address) says nothing
        # about which item is meant: it neither scores nor counts towards coverage.
        common = max(len(self.records) // 3, 50)
        kept = [
            (w, g) for w, g in zip(meaningful, groups, strict=True)
            if not g or any(len(self.postings[t]) <= common for t in g)
        ]
        meaningful = [w for w, _ in kept]
        # With a section named («contratos abiertos»), an item must match the other words
        # too: matching only «contratos» is the section itself, not a specific item.
        specific = [bool(query.topics) and w in query.rest for w, g in kept if g]
        must_be_specific = any(specific)
        groups = [g for _, g in kept if g]
        surfaces = [{w, *SYNONYMS.get(w, [])} for w, g in kept if g]
        if not meaningful and comuna is None:
            return []
        scores: dict[int, float] = defaultdict(float)
        matched: dict[int, int] = defaultdict(int)
        norms = self.norms
        specific_hits: set[int] = set()
        bests: list[tuple[dict[int, float], float]] = []  # each word's values, strong floor
        for group, is_specific in zip(groups, specific, strict=True):
            best: dict[int, float] = {}
            best_of = best.get
            for term in group:
                idf = self.idf[term] * (K1 + 1)
                for index, tf in self.postings[term]:
                    value = idf * tf / (tf + norms[index])
                    if value > best_of(index, 0.0):
                        best[index] = value
            for index, value in best.items():
                scores[index] += value
                matched[index] += 1
            if is_specific:
                specific_hits.update(best)
            # value = idf · (k1+1) · tf / (tf + norm) grows with tf, so tf ≥ STRONG_WEIGHT is
            # value · (STRONG_WEIGHT + norm) ≥ idf · (k1+1) · STRONG_WEIGHT (with several
            # terms, the least specific one's: an item is rather kept than wrongly left out).
            floor = min(self.idf[t] for t in group) * (K1 + 1) * STRONG_WEIGHT * (1 - 1e-9)
            bests.append((best, floor))
        if not meaningful:  # "eventos en la comuna 4": list that comuna's items
            scores = {i: 1.0 for i, r in enumerate(self.records) if r.comuna in comunas}
            matched = {i: 0 for i in scores}
        # A status is about works: only works in that state. «Comuna 4» said: only that
        # comuna's works («parques en la comuna 4» are not the parks of comuna 3).
        status = query.status
        only_comuna = comunas if query.explicit_comuna else None
        candidates: list[tuple[int, float]] = []  # (index, coverage)
        for index in scores:
            record = self.records[index]
            if status is not None and (
                    record.kind != "obra" or not _in_status(record, status, query.today)):
                continue
            if must_be_specific and index not in specific_hits:
                continue
            coverage = matched[index] / len(meaningful) if meaningful else 1.0
            if only_comuna is not None and record.kind == "obra" and (
                    record.comuna not in only_comuna):
                if dropped is not None and coverage >= MIN_COVERAGE:
                    dropped.append(Hit(record.kind, record.key, record.title, 0.0))
                continue
            if coverage >= MIN_COVERAGE:
                candidates.append((index, coverage))
        # Words an item holds in a main field (a name, a goal's text or program), not only in
        # a secondary one (an office, a description).
        strong = {index: sum(best.get(index, 0.0) * (STRONG_WEIGHT + norms[index]) >= floor
                             for best, floor in bests) for index, _ in candidates}
        # Sector questions («metas de salud», «salud»): in a kind asked for (or with no kind
        # asked for) where some items have every word in their topic, those come first, and
        # items holding a word only in a secondary field (the trees of the «Secretaría de
        # Salud y Ambiente») are not about it at all.
        topical: dict[int, float] = {}
        sector_kinds: set[str] = set()
        exact_kinds: set[str] = set()  # kinds with items whose topic head has the words as typed
        stem_only: set[int] = set()  # items whose topic shares only a stem («Movilidad segura»)
        for index, _ in candidates:
            record = self.records[index]
            if record.topic_terms and groups and (
                    not wanted_kinds or record.kind in wanted_kinds):
                in_topic = sum(bool(record.topic_terms.intersection(g)) for g in groups)
                in_head = sum(bool(record.topic_head.intersection(g)) for g in groups)
                exact = sum(bool(record.topic_words & w) for w in surfaces)
                if in_topic:  # raised by the head only: «andenes» is not what roads are about
                    topical[index] = 1 + (TOPIC_BOOST * in_head + EXACT_BOOST * exact) / len(
                        groups)
                if in_topic == len(groups):
                    sector_kinds.add(record.kind)
                if exact == len(groups):
                    exact_kinds.add(record.kind)
                elif in_topic > exact:
                    stem_only.add(index)
        # «Seguridad» is the program «Seguridad y convivencia»: «Movilidad segura» only shares
        # its stem, so its goals are left out unless their own title says the word.
        typed = set().union(*surfaces) if surfaces else set()
        stem_only = {i for i in stem_only if self.records[i].kind in exact_kinds
                     and not title_words(self.records[i].title) & typed}
        # An item that holds the words only in secondary fields is left out when items of
        # its kind hold all of them in a main field.
        incidental = {self.records[i].kind for i, n in strong.items()
                      if groups and n == len(groups)}
        hits = []
        for index, coverage in candidates:
            record = self.records[index]
            if (record.kind in sector_kinds and index not in topical
                    and strong[index] < matched[index]):
                continue
            if record.kind in incidental and not strong[index]:
                continue
            if index in stem_only:
                continue
            # A sector question («salud»): what only mentions it in a secondary field (a
            # process through its office) is not about it, whatever its kind.
            if sector_kinds and not strong[index]:
                continue
            score = scores[index] * topical.get(index, 1.0)
            if comuna is not None:
                if record.comuna in comunas:
                    score *= 1.5
                elif record.kind == "obra":
                    score *= 0.5
            if record.kind in wanted_kinds:
                score *= 1.4
            if query.when and record.kind == "evento":
                score *= WHEN_BOOST
            hits.append(Hit(record.kind, record.key, record.title, score * coverage, record.ref))
        hits.sort(key=lambda h: (-h.score, KIND_ORDER.index(h.kind), h.key))
        return self._prefer_own_words(hits, surfaces)

    @staticmethod
    def _prefer_own_words(hits: list[Hit], surfaces: list[set[str]]) -> list[Hit]:
        """Raise a little the best hits whose title uses the question's own words, not only
        their stems: «audiencia pública» is the hearing before «4 audiencias públicas»."""
        if not surfaces or not hits:
            return hits
        top = []
        for hit in hits[:OWN_WORDS_TOP]:
            title = title_words(hit.title)
            own = sum(bool(title & words) for words in surfaces) / len(surfaces)
            top.append(Hit(hit.kind, hit.key, hit.title, hit.score * (1 + OWN_WORDS_BOOST * own),
                           hit.ref) if own else hit)
        top.sort(key=lambda h: (-h.score, KIND_ORDER.index(h.kind), h.key))
        return top + hits[OWN_WORDS_TOP:]
