#!/usr/bin/env bash
# Builds the test clients into the cache, each under a name derived from its sources so
# that an edit is a new directory and an unchanged tree is a no-op:
#   ${ODRADEK_CACHE:-~/.cache/odradek}/java-client-<sha>/JavaClient.class
#       javac against the Kafka jars of tools/kafka/pom.xml (<sha>: JavaClient.java + pom.xml)
#   ${ODRADEK_CACHE:-~/.cache/odradek}/kafkajs-<sha>/node_modules
#       npm ci of tools/clients/kafkajs (<sha>: package-lock.json)
# tests/support/clients.py derives the same names. Either part is skipped, with a note on
# stderr, when its toolchain (javac, npm) is missing.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
cache_root="${ODRADEK_CACHE:-$HOME/.cache/odradek}"
mkdir -p "$cache_root"

digest() {
    cat "$@" | sha256sum | cut -c1-16
}

# Moves a finished staging directory into place, so a half-built one is never used.
publish() {
    local staging="$1" dest="$2"
    rm -rf "$dest"
    mv "$staging" "$dest"
}

build_java() {
    local src="$here/java/JavaClient.java" pom="$here/../kafka/pom.xml"
    local dest="$cache_root/java-client-$(digest "$src" "$pom")"
    if [[ -f "$dest/JavaClient.class" ]]; then
        return
    fi
    local classpath
    if ! classpath="$("$here/../kafka/fetch.sh")"; then
        echo "no Kafka jars (tools/kafka/fetch.sh failed): the Java client is not built" >&2
        return
    fi
    echo "compiling JavaClient into $dest" >&2
    rm -rf "$dest.partial"
    javac --release 17 -Xlint:all -Werror -d "$dest.partial" -cp "$classpath" "$src"
    publish "$dest.partial" "$dest"
}

build_kafkajs() {
    local dir="$here/kafkajs"
    local dest="$cache_root/kafkajs-$(digest "$dir/package-lock.json")"
    if [[ -d "$dest/node_modules/kafkajs" ]]; then
        return
    fi
    echo "installing kafkajs into $dest" >&2
    rm -rf "$dest.partial"
    mkdir -p "$dest.partial"
    cp "$dir/package.json" "$dir/package-lock.json" "$dest.partial/"
    (cd "$dest.partial" && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error >&2)
    publish "$dest.partial" "$dest"
}

# Engineers and CI may build at the same time: one build per cache, the others wait.
exec 9>"$cache_root/clients.lock"
flock 9

if command -v javac >/dev/null; then
    build_java
else
    echo "javac not found: the Java client is not built" >&2
fi
if command -v npm >/dev/null; then
    build_kafkajs
else
    echo "npm not found: kafkajs is not installed" >&2
fi
