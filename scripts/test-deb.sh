#!/usr/bin/env bash
# The Debian package, checked as installed: dpkg puts it into an empty root, and there
#   - the unit's program, environment file, data and web folders are where the unit says, every file of the
#     web map is there with the npm builds the page loads, and the environment file is a conffile;
#   - every setting the unit and the environment file name is one `farmhouse serve` reads;
#   - the postinst, run against stand-in commands, creates the unit's user and data folder;
#   - `systemd-analyze verify` passes the unit without a word, and fails copies of it with a missing
#     program or a misspelt setting (so the check can fail).
#
#   scripts/test-deb.sh               packages the binary the tests built (target/debug: the same files as
#                                     `make deb`'s release build, without its build time)
#   scripts/test-deb.sh FILE.deb      checks a package already made (e.g. by `make deb`)
# KEEP=1 keeps the work folder (the package and the root it was installed into) for a look.
set -euo pipefail
cd "$(dirname "$0")/.."

work=$(mktemp -d)
[[ -n ${KEEP:-} ]] || trap 'rm -rf "$work"' EXIT
checks=0
fail() {
    echo "FAIL: $*" >&2
    exit 1
}
pass() {
    checks=$((checks + 1))
    echo "ok: $*"
}

if [[ $# -ge 1 ]]; then
    deb=$1
else
    [[ -x target/debug/farmhouse ]] || cargo build --locked --bin farmhouse
    # cargo-deb takes the binary from <target dir>/release; a target dir of the test's own holds the debug one.
    mkdir -p "$work/target/release"
    cp target/debug/farmhouse "$work/target/release/farmhouse"
    CARGO_TARGET_DIR="$work/target" cargo deb --locked --no-build --fast --quiet --output "$work/" >/dev/null
    deb=$(echo "$work"/farmhouse_*.deb)
fi
[[ -f $deb ]] || fail "no package at $deb"
echo "package: $deb ($(stat -c %s "$deb") bytes)"

# An empty root with a dpkg database. dpkg runs maintainer scripts inside the root, which has no shell to
# run them with: the package is unpacked, its postinst set aside (it is run against stand-ins below), and
# the package configured (its conffiles put in place).
root=$work/root
mkdir -p "$root"/var/lib/dpkg/{info,updates,triggers} "$root"/usr/{bin,sbin,lib}
for d in bin sbin lib; do ln -s "usr/$d" "$root/$d"; done
touch "$root/var/lib/dpkg/status"
dpkg --root="$root" --force-not-root --force-depends --unpack "$deb" >/dev/null
mv "$root/var/lib/dpkg/info/farmhouse.postinst" "$work/postinst"
dpkg --root="$root" --force-not-root --force-depends --configure farmhouse >/dev/null 2>&1
query() { dpkg-query --admindir="$root/var/lib/dpkg" -W -f="$1" farmhouse; }
[[ $(query '${Status}') == "install ok installed" ]] || fail "dpkg did not install the package: $(query '${Status}')"
pass "dpkg --root installed $(query '${Package} ${Version}') into an empty root"

unit_path=$root/usr/lib/systemd/system/farmhouse.service
[[ -f $unit_path ]] || fail "no unit at /usr/lib/systemd/system/farmhouse.service"
unit() { sed -n "s/^$1=//p" "$unit_path"; }
# The value of NAME among the unit's Environment= assignments.
unit_env() { unit Environment | tr ' ' '\n' | sed -n "s/^$1=//p"; }

program=$(unit ExecStart | cut -d' ' -f1)
[[ -x $root$program ]] || fail "ExecStart names $program, which the package does not install as a program"
"$root$program" --version >/dev/null || fail "$program --version failed"
pass "ExecStart's program $program is installed and runs"

env_file=$(unit EnvironmentFile)
[[ -f $root$env_file ]] || fail "EnvironmentFile $env_file is not installed"
[[ $(stat -c %a "$root$env_file") == 600 ]] || fail "$env_file may hold a password: mode $(stat -c %a "$root$env_file")"
query '${Conffiles}' | grep -q " $env_file " || fail "$env_file is not a conffile: an upgrade would overwrite it"
pass "EnvironmentFile $env_file is installed, root-only, as a conffile"

# Every setting named (set or commented out) in the unit and the environment file is one serve reads.
help=$("$root$program" serve --help)
settings=$({
    unit Environment | tr ' ' '\n' | cut -d= -f1
    sed -n 's/^#\{0,1\}\([A-Z][A-Z_]*\)=.*/\1/p' "$root$env_file"
} | sort -u | grep -vx RUST_LOG)
for name in $settings; do
    grep -q "env: $name=" <<<"$help" || fail "$name (in the unit or $env_file) is no setting of farmhouse serve"
done
pass "the $(wc -w <<<"$settings") settings of the unit and $env_file are all read by farmhouse serve"

web=$(unit_env FARMHOUSE_WEB_DIR)
[[ -n $web ]] || fail "the unit sets no FARMHOUSE_WEB_DIR"
while IFS= read -r file; do
    [[ -f $root$web/${file#web/} ]] || fail "$file is not installed in $web"
done < <(find web/index.html web/style.css web/app -type f)
# The npm builds the page loads (/vendor/<package>/<file>, served from node_modules/<package>/dist).
vendored=$(grep -ohE "/vendor/[a-z-]+/[A-Za-z0-9._-]+" web/index.html web/app/*.js | sort -u)
[[ -n $vendored ]] || fail "found no /vendor/ file the page loads"
for v in $vendored; do
    rest=${v#/vendor/}
    [[ -f $root$web/node_modules/${rest%%/*}/dist/${rest#*/} ]] || fail "$v is not installed in $web"
done
pass "the web map is in $web: index.html, style.css, app/ and $(wc -w <<<"$vendored") vendored files"

data=$(unit_env FARMHOUSE_DATA_DIR)
user=$(unit User)
[[ -n $data && $(unit WorkingDirectory) == "$data" && $(unit ReadWritePaths) == "$data" ]] ||
    fail "the data folder ($data), WorkingDirectory and ReadWritePaths differ"
for setting in ProtectSystem=strict ProtectHome=yes PrivateTmp=yes NoNewPrivileges=yes; do
    grep -qx "$setting" "$unit_path" || fail "the unit lacks $setting"
done
pass "the service runs as $user, may write $data only (ProtectSystem=strict, ProtectHome, PrivateTmp, NoNewPrivileges)"

# The postinst against stand-ins that record their calls (getent: no such user yet).
mkdir -p "$work/stubs"
for command in getent adduser install deb-systemd-helper deb-systemd-invoke systemctl; do
    status=0
    [[ $command == getent ]] && status=2
    printf '#!/bin/sh\necho "%s $*" >>"%s"\nexit %s\n' "$command" "$work/calls" "$status" >"$work/stubs/$command"
    chmod +x "$work/stubs/$command"
done
PATH="$work/stubs:$PATH" sh -e "$work/postinst" configure ""
grep -Eq "^adduser .*--system .*--home $data .*$user\$" "$work/calls" || fail "the postinst does not add the system user $user: $(cat "$work/calls")"
grep -Eq "^install -d -o $user -g $user .*$data\$" "$work/calls" || fail "the postinst does not make $data for $user"
pass "the postinst adds the system user $user and makes $data"

# systemd-analyze checks a unit against the root's systemd: the standard targets, as on any Debian system.
cp /usr/lib/systemd/system/*.target "$root/usr/lib/systemd/system/"
verify() { systemd-analyze verify --man=no --root="$root" "$1" 2>&1; }
out=$(verify farmhouse.service) || fail "systemd-analyze verify farmhouse.service: $out"
[[ -z $out ]] || fail "systemd-analyze verify farmhouse.service warns: $out"
sed "s#^ExecStart=[^ ]*#ExecStart=$program-missing#" "$unit_path" >"$root/usr/lib/systemd/system/broken.service"
if out=$(verify broken.service); then fail "systemd-analyze verify passed a unit whose program is missing"; fi
sed 's#^ProtectSystem=strict#ProtectSystem=strcit#' "$unit_path" >"$root/usr/lib/systemd/system/typo.service"
out=$(verify typo.service) || true
[[ -n $out ]] || fail "systemd-analyze verify said nothing of a misspelt setting"
pass "systemd-analyze verify passes the unit silently, and fails it with a missing program or a misspelt setting"

echo "the package passed $checks checks"
