"""All SQL lives here: the database connection, migrations and one module per table group."""
