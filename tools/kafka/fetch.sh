#!/usr/bin/env bash
# Lays out the Apache Kafka jars named in tools/kafka/pom.xml in one cache directory and
# prints the classpath (jar paths joined by ':') on stdout.
#
# The cache is ${ODRADEK_CACHE:-~/.cache/odradek}/kafka-<version>/: lib/ holds the jars,
# classpath holds the printed line, pom.sha256 the pom it was made from. A second run
# with the same pom only prints the classpath. Maven's own repository goes to
# ${ODRADEK_CACHE}/m2 so nothing lands in ~/.m2 or in the checkout.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
pom="$here/pom.xml"
cache_root="${ODRADEK_CACHE:-$HOME/.cache/odradek}"
version="$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$pom")"
dest="$cache_root/kafka-$version"
pom_sum="$(sha256sum "$pom" | cut -d' ' -f1)"

is_current() {
    [[ -f "$dest/classpath" && -f "$dest/pom.sha256" && "$(cat "$dest/pom.sha256")" == "$pom_sum" ]]
}

if is_current; then
    cat "$dest/classpath"
    exit 0
fi

mkdir -p "$cache_root"
# Engineers and CI may run this at the same time: one fetch per cache, the others wait.
exec 9>"$cache_root/kafka-$version.lock"
flock 9
if ! is_current; then
    echo "fetching Apache Kafka $version jars into $dest" >&2
    staging="$dest.partial"
    rm -rf "$staging"
    # mvn writes terminal escapes to stdout even when quiet; stdout is for the classpath only.
    mvn -q -B -f "$pom" \
        -Dmaven.repo.local="$cache_root/m2" \
        dependency:copy-dependencies \
        -DincludeScope=runtime \
        -DoutputDirectory="$staging/lib" >&2
    find "$staging/lib" -name '*.jar' | sort | paste -sd: > "$staging/classpath"
    # The jar paths must name the final directory, not the staging one.
    sed -i "s:$staging/:$dest/:g" "$staging/classpath"
    echo "$pom_sum" > "$staging/pom.sha256"
    rm -rf "$dest"
    mv "$staging" "$dest"
fi
cat "$dest/classpath"
