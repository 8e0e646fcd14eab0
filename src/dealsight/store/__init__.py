"""I/O with the database: tables, migrations, repositories."""
