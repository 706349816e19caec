#!/bin/sh
# setup-debian.sh -- install the Debian 12 packages bxkd needs to build and
# test. Idempotent: prints nothing and touches nothing when all are present.
# Run as root (or through sudo). Needs no standard input.
set -eu

# What each package is for:
#   build-essential, autoconf, automake, libtool, pkg-config  the build
#   gcc-multilib       32-bit libgcc for the freestanding test guest
#   nasm               the guest's boot sector
#   bochs              bochs-bin, the emulator the plugin is built for
#   bochs-sdl          Bochs' SDL2 display, driven headless in tests
#   bochsbios, vgabios the firmware images the guest boots with
#   check, libsubunit-dev  unit test framework
#   gcc-mingw-w64-i686-win32, gcc-mingw-w64-x86-64-win32  the Windows KD
#                      transport DLLs (configure --without-windows-dll skips them)
#   libpcap-dev        session files (replay/) are pcap files, through libpcap
#   tshark             Wireshark's command line; the tests decode session files
#                      with it and the Lua dissector replay/bxkd.lua
#   nettle-dev         SHA-256 of the guest image in a session's manifest
#   libjson-c-dev      every JSON the tools write and the tests read (json-c)
#   groff-base         the manual pages are checked with groff
#   clang              libFuzzer and its sanitizers: fuzz/ (configure
#                      --enable-fuzzing) and the sanitizer runs of
#                      ./quickstart check (scripts/check-hardening)
#   socat              the WinDbg attach line bxkd prints relays the kernel's
#                      Unix socket to TCP with it
#   gnuplot-nox        `bxkd bench`'s plot (PNG and SVG, without X)
packages="build-essential autoconf automake libtool pkg-config gcc-multilib nasm
bochs bochs-sdl bochsbios vgabios check libsubunit-dev
gcc-mingw-w64-i686-win32 gcc-mingw-w64-x86-64-win32 libpcap-dev tshark
nettle-dev libjson-c-dev groff-base clang socat gnuplot-nox"

missing=""
for p in $packages; do
	status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
	[ "$status" = installed ] || missing="$missing $p"
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "setup-debian.sh: missing packages:$missing; run this script as root" >&2
	exit 1
fi
echo "setup-debian.sh: installing$missing"
export DEBIAN_FRONTEND=noninteractive
# Fresh machines and containers often have no package lists yet.
if ! apt-get install -y -q --no-install-recommends $missing </dev/null; then
	apt-get update -q </dev/null
	apt-get install -y -q --no-install-recommends $missing </dev/null
fi
