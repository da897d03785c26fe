"""The DuckDB warehouse: its tables, its one-writer lock and the grid crosswalk kept in it.

    store        Warehouse: curated tables, quarantine, vault, batch manifest; whole-batch commits
    writer_lock  the lock that keeps the warehouse to one writing process
    transaction  one transaction around a piece of work, committed whole or rolled back
    crosswalk    the versioned grid crosswalk (ref.grid_crosswalk) and the SQL that maps codes by it
"""
