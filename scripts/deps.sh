#!/bin/sh
# Install what sandboxd needs to build, run and test, from Debian 12's
# archive (run as root).  The list is scripts/packages.txt.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
export DEBIAN_FRONTEND=noninteractive
apt-get update
# shellcheck disable=SC2046
apt-get install -y --no-install-recommends $(grep -v '^#' "$here/packages.txt")
