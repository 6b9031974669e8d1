"""Storage: SQLModel tables, the database handle, queries per area, importers, migrations.

Nothing here imports `telegram`.
"""
