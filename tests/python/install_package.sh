# make install's Python package works from the prefix alone: with only the
# installed site-packages folder on PYTHONPATH (and no RAVINE_LIBRARY) it
# loads the installed library, not the build's, and steps an optimizer.
set -u
python3=${PYTHON3:-/usr/bin/python3}
"$python3" -c 'import torch' 2>/dev/null || { echo "SKIP: torch is not installed"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cmake --install "$RAVINE_BUILD" --prefix "$tmp/prefix" >/dev/null || { echo "FAIL install"; exit 1; }
site="$tmp/prefix/lib/python3/site-packages"
[ -f "$site/ravine/torch/__init__.py" ] || { echo "FAIL: no package under $site"; exit 1; }
[ -f "$site/ravine/_install.py" ] || { echo "FAIL: no _install.py"; exit 1; }
out=$(cd "$tmp" && env -u RAVINE_LIBRARY PYTHONPATH="$site" "$python3" -c '
import torch, ravine._lib as lib, ravine.torch as rt
p = torch.nn.Parameter(torch.tensor([1.0, -1.0]))
opt = rt.AdamW([p], lr=0.1, weight_decay=0.01)
p.grad = torch.tensor([0.25, -0.5])
opt.step()
print(lib.LIBRARY_PATH)
print("%.4f %.4f" % tuple(p.tolist()))
') || { echo "FAIL: the installed package does not run"; exit 1; }
echo "$out"
case "$(echo "$out" | head -1)" in
  "$tmp/prefix/"*) ;;
  *) echo "FAIL: loaded $(echo "$out" | head -1), not the installed library"; exit 1 ;;
esac
[ "$(echo "$out" | tail -1)" = "0.8990 -0.8990" ] || { echo "FAIL: wrong step"; exit 1; }
echo "PASS install_package"
