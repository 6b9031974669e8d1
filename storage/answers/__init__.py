"""Answers: a citizen's question in, the fact asked for out.

Read the pipeline in order:

1. `storage.text.fold` and `storage.search.tokens` normalise what was typed (accents, case,
   abbreviations);
2. `storage.answers.ask.parse` reads what is asked (an attribute of one item, a comparison, a
   definition, how to do something, something outside accountability) and what about (the
   words left for the search index), with the cue words from `data/preguntas.yaml`;
3. `storage.answers.facts` retrieves: the search index finds the item(s) and the database
   gives their figures, as plain dataclasses;
4. `handlers.answers` composes the reply — the sentence with the fact first, then the item's
   buttons — and keeps the subject for a follow-up («¿y cuándo la terminan?»).

Storage returns facts; handlers render them. When nothing here applies, the question goes on
to the list of matches (`handlers.search`).
"""
