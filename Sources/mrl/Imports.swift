// Tables, progress, plots and output, shared with mrl-bench: every command prints with them.
@_exported import Terminal
