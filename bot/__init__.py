"""Cabildo: a Telegram bot for municipal accountability and citizen dialogue."""
