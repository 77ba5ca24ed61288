-- telemetry_lines: one row per line of the text file $path (plain or gzip), in file order: line (text without its line ending; '' for a blank line); a line may be up to 16 MiB.
SELECT coalesce(line, '') AS line
FROM read_csv(
    $path, columns = {'line': 'VARCHAR'}, header = false, delim = E'\x1f\x1e\x1d\x1c', quote = '', escape = '',
    auto_detect = false, compression = 'auto', max_line_size = 16777216
)
