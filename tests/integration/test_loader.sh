#!/bin/bash
# test_loader.sh - the shim sees writes of plugins loaded like PHP (RTLD_DEEPBIND) and Python
# (RTLD_LOCAL), and a program's own dlopen() keeps resolving through its RUNPATH under the shim.
set -euo pipefail
. "$MCM_HARNESS/lib.sh" || exit 1
mc_start MC
servers=127.0.0.1:$MC_PORT
plugin=$MCM_BIN/loader/libloader_plugin.so

# Without the shim's help, a DEEPBIND plugin would bypass the hooks: the key must be mirrored anyway.
# (A sanitizer runtime refuses RTLD_DEEPBIND outright, google/sanitizers#611: not testable there.)
modes="deepbind local"
mcm_preload_prefix
[ -z "$MCM_PRELOAD_PREFIX" ] || modes=local
for mode in $modes; do
	under_shim "$MCM_TMP/m-$mode" "$MCM_BIN/loader/loader_host" $mode "$plugin" "$servers" "k-$mode" "v-$mode" ||
		fail "$mode: the plugin's set failed under the shim"
	"$MCM_TOOL" --mirror "$MCM_TMP/m-$mode" dump >"$MCM_TMP/dump-$mode" || fail "$mode: dump failed"
	grep -q "k-$mode" "$MCM_TMP/dump-$mode" || fail "$mode: the plugin's write was not mirrored"
	grep -q "v-$mode" "$MCM_TMP/dump-$mode" || fail "$mode: the mirrored value is missing"
done

# The caller's RUNPATH must still apply to a bare-name dlopen made through the hook.
# (Under a sanitizer, its own dlopen interceptor already hides the caller: not testable there.)
if [ -z "$MCM_PRELOAD_PREFIX" ]; then
	"$MCM_BIN/loader/loader_host" runpath || fail "runpath: fails even without the shim"
	under_shim "$MCM_TMP/m-runpath" "$MCM_BIN/loader/loader_host" runpath || fail "runpath: broken under the shim"
fi
echo "PASS"
