# ravine plot: every picture is well-formed XML and holds the expected series,
# legend entries, markers and labels; bad requests fail with one clear line.
. "$(dirname "$0")/../cli_lib.sh"

count() { grep -o "$1" "$2" | wc -l | tr -d ' '; }

"$RAVINE" plot contour --surface 'bowl(kappa=10)' --optims 'sgd(lr=0.19);sgd(lr=0.05, momentum=0.9);adam(lr=0.1)' \
  --steps 60 --out "$tmp/contour.svg" 2>/dev/null
check contour_wellformed wellformed "$tmp/contour.svg"
expect_out contour_series 3 count 'class="series"' "$tmp/contour.svg"
# minimum, three optimizers, start, end
expect_out contour_legend 6 count 'class="legend-entry"' "$tmp/contour.svg"
# a start and an end per path, and the minimum
expect_out contour_markers 7 count 'class="marker"' "$tmp/contour.svg"
expect_out contour_levels 12 count 'class="contour"' "$tmp/contour.svg"
check contour_heatmap grep -q 'class="heatmap"' "$tmp/contour.svg"
check contour_title grep -q '<text class="title"[^>]*>Optimizer paths on bowl(kappa=10)</text>' "$tmp/contour.svg"
check contour_legend_label grep -q '>sgd(lr=0.05, momentum=0.9)</text>' "$tmp/contour.svg"
# the end marker's tooltip carries the loss of the last step, as ravine trace prints it
last=$("$RAVINE" trace --surface 'bowl(kappa=10)' --optim 'adam(lr=0.1)' --steps 60 | tail -1 | cut -d, -f4)
check contour_end_loss grep -q "adam(lr=0.1) after 60 steps: loss $last<" "$tmp/contour.svg"
# colour-blind-safe palette, in order
check contour_palette sh -c 'grep -o "class=\"series\" fill=\"none\" stroke=\"#[0-9A-F]*\"" "$1" | tr -d "\n" | grep -q "#0072B2.*#D55E00.*#009E73"' _ "$tmp/contour.svg"

"$RAVINE" plot loss --surface bowl --optims 'sgd(lr=0.19);adam(lr=0.1);sgd(lr=0.25);newton' --log --threshold 0.2 \
  --out "$tmp/loss.svg" 2>/dev/null
check loss_wellformed wellformed "$tmp/loss.svg"
expect_out loss_series 4 count 'class="series"' "$tmp/loss.svg"
expect_out loss_legend 4 count 'class="legend-entry"' "$tmp/loss.svg"
expect_out loss_threshold 1 count '>loss 0.2</text>' "$tmp/loss.svg"
check loss_log_ticks grep -q '10<tspan dy="-6" font-size="9">-6</tspan>' "$tmp/loss.svg"

# stdout when there is no --out; the seed's four schedules, warmup+cosine in bold
"$RAVINE" plot schedule > "$tmp/sched.svg"
check schedule_wellformed wellformed "$tmp/sched.svg"
expect_out schedule_series 4 count 'class="series"' "$tmp/sched.svg"
expect_out schedule_legend 4 count 'class="legend-entry"' "$tmp/sched.svg"
check schedule_highlight grep -q 'font-weight="bold">warmup_cosine(peak=1e-3, warmup_steps=100, decay_steps=1000)</text>' "$tmp/sched.svg"
expect_out schedule_highlight_width 1 count 'class="series" fill="none" stroke="#CC79A7" stroke-width="4.0"' "$tmp/sched.svg"
"$RAVINE" plot schedule --schedules 'constant(lr=0.1);exponential(lr=0.1, gamma=0.9)' --steps 50 --log --out "$tmp/s2.svg" 2>/dev/null
expect_out schedule_custom 2 count 'class="series"' "$tmp/s2.svg"

# the sweep: sgd diverges at lr 0.3 > 2/lambda_max = 0.2, a cross on the top edge
"$RAVINE" plot sweep --surface bowl --optims 'sgd;adam' --lrs 0.01,0.1,0.3 --steps 50 --out "$tmp/sweep.svg" 2>/dev/null
check sweep_wellformed wellformed "$tmp/sweep.svg"
expect_out sweep_series 2 count 'class="series"' "$tmp/sweep.svg"
expect_out sweep_legend 3 count 'class="legend-entry"' "$tmp/sweep.svg"
expect_out sweep_diverged 1 count '<title>sgd lr=0.3: diverged</title>' "$tmp/sweep.svg"
check sweep_limit grep -q '>2/λmax = 0.2</text>' "$tmp/sweep.svg"
final=$("$RAVINE" trace --surface bowl --optim 'adam(lr=0.1)' --steps 50 | tail -1 | cut -d, -f4)
check sweep_point_is_a_trace grep -q "<title>adam lr=0.1: final loss $final</title>" "$tmp/sweep.svg"

expect_err unknown_picture "ravine: plot: unknown picture 'contur' (did you mean 'contour'?)" "$RAVINE" plot contur --surface bowl
expect_err no_picture "ravine: plot: what to plot is required: contour, loss, schedule or sweep" "$RAVINE" plot
expect_err no_surface "ravine: plot: --surface SPEC is required for a loss picture" "$RAVINE" plot loss --optims sgd
expect_err no_optims "ravine: plot: --optims 'SPEC;SPEC;...' is required for a sweep picture" "$RAVINE" plot sweep --surface bowl
expect_err bad_lrs "ravine: --lrs: '0.1,0.01': learning rates must be positive and increasing" \
  "$RAVINE" plot sweep --surface bowl --optims sgd --lrs 0.1,0.01
expect_err bad_optim "ravine: adam(lr=-1): spec 'adam(lr=-1)': lr must be >= 0, got -1" \
  "$RAVINE" plot loss --surface bowl --optims 'adam(lr=-1)'
expect_err unwritable "ravine: $tmp/no/such/dir.svg: cannot create a temporary file in '$tmp/no/such': No such file or directory" \
  "$RAVINE" plot schedule --out "$tmp/no/such/dir.svg"
finish
