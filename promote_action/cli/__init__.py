"""The command line: parse → build → execute → exit code. Only this package prints or exits."""
