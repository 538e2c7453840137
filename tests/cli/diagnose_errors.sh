# ravine diagnose: every bad input is one line on stderr naming file and line, exit 2.
. "$(dirname "$0")/../cli_lib.sh"

: > "$tmp/empty.csv"
expect_err empty_file "ravine: $tmp/empty.csv: empty file: expected a header with a loss column, or one number per line" \
  "$RAVINE" diagnose "$tmp/empty.csv"
printf '# only a comment\n\n' > "$tmp/comment.csv"
expect_err only_comments "ravine: $tmp/comment.csv: empty file: expected a header with a loss column, or one number per line" \
  "$RAVINE" diagnose "$tmp/comment.csv"
printf 'step,accuracy\n0,0.5\n' > "$tmp/noloss.csv"
expect_err no_loss_column "ravine: $tmp/noloss.csv line 1: no loss column in the header (want 'loss' or a name ending in 'loss', such as train/loss)" \
  "$RAVINE" diagnose "$tmp/noloss.csv"
printf 'step,loss\n' > "$tmp/header_only.csv"
expect_err header_only "ravine: $tmp/header_only.csv: no loss values (0 empty cells in column 'loss')" \
  "$RAVINE" diagnose "$tmp/header_only.csv"
printf 'step,loss\n0,1.5\n1,1.4\n2\n' > "$tmp/short_row.csv"
expect_err short_row "ravine: $tmp/short_row.csv line 4: expected 2 fields as in the header, got 1" \
  "$RAVINE" diagnose "$tmp/short_row.csv"
printf 'step,loss\n0,1.5\n1,abc\n' > "$tmp/word.csv"
expect_err not_a_number "ravine: $tmp/word.csv line 3: loss value 'abc' is not a number" \
  "$RAVINE" diagnose "$tmp/word.csv"
printf 'step,loss\n0,1.5\nx1,1.4\n' > "$tmp/badstep.csv"
expect_err bad_step "ravine: $tmp/badstep.csv line 3: step value 'x1' is not a number" \
  "$RAVINE" diagnose "$tmp/badstep.csv"
printf '"step,loss\n0,1\n' > "$tmp/quote.csv"
expect_err unterminated_quote "ravine: $tmp/quote.csv line 1: unterminated quote" \
  "$RAVINE" diagnose "$tmp/quote.csv"
printf '0,1.5\n1,1.4\n' > "$tmp/noheader.csv"
expect_err headerless_columns "ravine: $tmp/noheader.csv line 1: expected a header naming a loss column (such as step,loss), or one number per line" \
  "$RAVINE" diagnose "$tmp/noheader.csv"
printf '1.5\n1.4\n1.3,2\n' > "$tmp/ragged.csv"
expect_err one_per_line_ragged "ravine: $tmp/ragged.csv line 3: expected one number per line, got 2 values" \
  "$RAVINE" diagnose "$tmp/ragged.csv"
printf '1.5\n\n# a comment\n1.4\nx\n' > "$tmp/word1.csv"
expect_err one_per_line_word "ravine: $tmp/word1.csv line 5: 'x' is not a number" \
  "$RAVINE" diagnose "$tmp/word1.csv"
printf 'step,loss\n0,1\n' > "$tmp/ok.csv"
expect_err no_such_column "ravine: $tmp/ok.csv line 1: no column named 'val/loss' in the header" \
  "$RAVINE" diagnose "$tmp/ok.csv" --column val/loss
expect_err missing_file "ravine: $tmp/nope.csv: cannot open: No such file or directory" \
  "$RAVINE" diagnose "$tmp/nope.csv"
expect_err no_file "ravine: diagnose: a loss-curve file is required, e.g. ravine diagnose train.csv --json" \
  "$RAVINE" diagnose --json
expect_err two_files "ravine: diagnose: unexpected argument 'b.csv' (see ravine diagnose --help)" \
  "$RAVINE" diagnose a.csv b.csv
printf 'step,loss\n0,1\n' > "$tmp/nul.csv"; printf 'step,loss\n0,\0001\n' > "$tmp/nul.csv"
expect_err nul_byte "ravine: $tmp/nul.csv line 2: contains a NUL byte" \
  "$RAVINE" diagnose "$tmp/nul.csv"
# a file of binary noise never crashes: exit 0 or 2, never a signal
head -c 4096 /dev/urandom > "$tmp/noise.bin" 2>/dev/null || printf '\377\376garbage' > "$tmp/noise.bin"
"$RAVINE" diagnose "$tmp/noise.bin" --json >/dev/null 2>&1; rc=$?
check noise_no_crash [ "$rc" -eq 0 -o "$rc" -eq 2 ]
finish
