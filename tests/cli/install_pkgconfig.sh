# make install's layout works for a user: headers, static and shared
# libraries and ravine.pc, used through pkg-config by a tiny program.
. "$(dirname "$0")/../cli_lib.sh"

prefix="$tmp/prefix"
cmake --install "$RAVINE_BUILD" --prefix "$prefix" >/dev/null || { echo "FAIL install"; exit 1; }
pc=$(dirname "$(find "$prefix" -name ravine.pc | head -1)")
check pc_installed test -f "$pc/ravine.pc"
check header_installed test -f "$prefix/include/ravine/ravine.h"
check cli_installed test -x "$prefix/bin/ravine"
check static_installed sh -c "ls '$prefix'/lib*/libravine.a '$prefix'/lib/*/libravine.a 2>/dev/null | grep -q ."
check shared_installed sh -c "ls '$prefix'/lib*/libravine.so* '$prefix'/lib/*/libravine.so* 2>/dev/null | grep -q ."

cat > "$tmp/use.c" <<'C'
#include <ravine/ravine.h>
#include <stdio.h>
int main(void)
{
    rv_optim *opt;
    float w[2] = {1.0f, -1.0f}, g[2] = {0.25f, -0.5f};
    if (rv_optim_create_spec(&opt, "adamw(lr=0.1, weight_decay=0.01)")) {
        fprintf(stderr, "%s\n", rv_errmsg());
        return 1;
    }
    rv_optim_add_param(opt, 0, "w", w, g, 2, NULL);
    rv_optim_step(opt);
    printf("%.4f %.4f\n", w[0], w[1]);
    rv_optim_free(opt);
    return 0;
}
C
# a sanitizer build's library needs the same runtime in the program
san=""
grep -q "RAVINE_SANITIZE:BOOL=ON" "$RAVINE_BUILD/CMakeCache.txt" && san="-fsanitize=address,undefined"
cc=$(sed -n 's/^CMAKE_C_COMPILER:[A-Z]*=//p' "$RAVINE_BUILD/CMakeCache.txt")
export PKG_CONFIG_PATH="$pc"
flags=$(pkg-config --cflags ravine) && libs=$(pkg-config --libs --static ravine)
check pkg_config_found test -n "$libs"
# static: ravine.pc's Libs.private brings libm and OpenMP
"$cc" $san $flags "$tmp/use.c" -o "$tmp/use_static" -Wl,-Bstatic $(pkg-config --libs ravine) -Wl,-Bdynamic $(pkg-config --libs --static ravine | sed 's/-lravine//') 2>"$tmp/cc.err" \
  || { cat "$tmp/cc.err"; echo "FAIL static link"; fail=$((fail + 1)); }
expect_out static_program "0.8990 -0.8990" "$tmp/use_static"
# shared
"$cc" $san $flags "$tmp/use.c" -o "$tmp/use_shared" $(pkg-config --libs ravine) 2>"$tmp/cc.err" \
  || { cat "$tmp/cc.err"; echo "FAIL shared link"; fail=$((fail + 1)); }
libdir=$(pkg-config --variable=libdir ravine)
expect_out shared_program "0.8990 -0.8990" env LD_LIBRARY_PATH="$libdir" "$tmp/use_shared"
finish
