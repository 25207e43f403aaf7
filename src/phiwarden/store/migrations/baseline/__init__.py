"""The first migration's tables, by idea: each module creates its tables (in the order
their foreign keys need) and drops them. Frozen with migration 0001: never edit them;
change the schema with a new migration."""
