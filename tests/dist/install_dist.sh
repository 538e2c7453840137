# make install's sharded optimizer works for a user: ravine/dist.h,
# libravine_dist and ravine-dist.pc, used through pkg-config by a tiny MPI
# program run on 2 ranks (its result equals one process's AdamW step).
. "$(dirname "$0")/../cli_lib.sh"

prefix="$tmp/prefix"
cmake --install "$RAVINE_BUILD" --prefix "$prefix" >/dev/null || { echo "FAIL install"; exit 1; }
pc=$(dirname "$(find "$prefix" -name ravine-dist.pc | head -1)")
check pc_installed test -f "$pc/ravine-dist.pc"
check header_installed test -f "$prefix/include/ravine/dist.h"
check libraries_installed sh -c "ls '$prefix'/lib*/libravine_dist.a '$prefix'/lib*/libravine_dist.so* \
  '$prefix'/lib/*/libravine_dist.a 2>/dev/null | grep -q ."

cat > "$tmp/use.c" <<'C'
#include <ravine/dist.h>
#include <stdio.h>
int main(void)
{
    MPI_Init(NULL, NULL);
    int rank;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    rv_dist *opt;
    float w[37], g[37];
    for (int i = 0; i < 37; i++)
        w[i] = i % 2 ? -1.0f : 1.0f, g[i] = i % 2 ? -0.5f : 0.25f;
    if (rv_dist_create_spec(&opt, MPI_COMM_WORLD, "adamw(lr=0.1, weight_decay=0.01)") ||
        rv_dist_add_param(opt, 0, "w", w, g, 37, NULL) || rv_dist_step(opt)) {
        fprintf(stderr, "%s\n", rv_errmsg());
        return 1;
    }
    if (rank == 0)
        printf("%.4f %.4f %.4f\n", w[0], w[1], w[36]);
    rv_dist_free(opt);
    MPI_Finalize();
    return 0;
}
C
san=""
grep -q "RAVINE_SANITIZE:BOOL=ON" "$RAVINE_BUILD/CMakeCache.txt" && san="-fsanitize=address,undefined"
cc=$(sed -n 's/^CMAKE_C_COMPILER:[A-Z]*=//p' "$RAVINE_BUILD/CMakeCache.txt")
export PKG_CONFIG_PATH="$pc"
"$cc" $san $(pkg-config --cflags ravine-dist) "$tmp/use.c" -o "$tmp/use" $(pkg-config --libs ravine-dist) \
  2>"$tmp/cc.err" || { cat "$tmp/cc.err"; echo "FAIL link"; fail=$((fail + 1)); }
libdir=$(pkg-config --variable=libdir ravine-dist)
# seed 000's AdamW step on every element, wherever its shard lies
expect_out program_on_2_ranks "0.8990 -0.8990 0.8990" \
  env LD_LIBRARY_PATH="$libdir" timeout 60 $RAVINE_MPIRUN -np 2 "$tmp/use"
finish
