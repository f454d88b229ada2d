#!/usr/bin/env bash
# Installs portagent (ovs-port-agent) on this host, then moves the uplink
# NIC onto an OVS bridge with its addresses and default route, applied with
# confirm-or-revert: if the host cannot reach its gateway afterwards, or
# this script is cut off (a dropped SSH session) before it confirms, the
# change is rolled back by itself. As root.
#
#   sudo ./scripts/install.sh --bridge ovsbr0 --uplink eth0 [--with-ovsbr1] [--system] [--purge-bridges]
#
#   --bridge NAME      the OVS bridge to create (default ovsbr0; config bridge_name)
#   --uplink NIC       the NIC whose addresses and default route move onto the bridge
#   --with-ovsbr1      also a container bridge ovsbr1 with 10.0.100.1/24 (the guide's example)
#   --system           enable and start the systemd service (when systemd runs)
#   --purge-bridges    delete the other OVS bridges (through portagent: checkpointed, recorded)
#   --confirm-timeout S   seconds to confirm the change (default 60)
#
# Where things go (defaults for a local install; override for packaging or tests):
#   PREFIX=/usr/local  BINARY=<built portagent>  CONFIG_DIR=/etc/ovs-port-agent
#   STATE_DIR=/var/lib/ovs-port-agent  UNIT_DIR=/etc/systemd/system
#   DBUS_SYSTEM_DIR=/etc/dbus-1/system.d  DBUS_SERVICES_DIR=/usr/share/dbus-1/system-services
#   POLKIT_ACTIONS_DIR=/usr/share/polkit-1/actions  POLKIT_RULES_DIR=/etc/polkit-1/rules.d
set -euo pipefail
cd "$(dirname "$0")/.."

die() { echo "install.sh: $*" >&2; exit 2; }
say() { printf '\n==> %s\n' "$*"; }

bridge=ovsbr0 uplink="" with_ovsbr1=0 system=0 purge=0 confirm=60
while [ $# -gt 0 ]; do
    case "$1" in
        --bridge) bridge="${2:?--bridge needs a name}"; shift 2 ;;
        --uplink) uplink="${2:?--uplink needs a NIC}"; shift 2 ;;
        --with-ovsbr1) with_ovsbr1=1; shift ;;
        --system) system=1; shift ;;
        --purge-bridges) purge=1; shift ;;
        --confirm-timeout) confirm="${2:?--confirm-timeout needs seconds}"; shift 2 ;;
        -h|--help) sed -n '2,22p' "$0"; exit 0 ;;
        *) die "unknown option $1 (see --help)" ;;
    esac
done
[ -n "$uplink" ] || die "--uplink NIC is required"
[ "$(id -u)" = 0 ] || die "run as root"
[[ "$bridge" =~ ^[A-Za-z0-9_.-]{1,15}$ ]] || die "--bridge: '$bridge' is not a valid interface name"
ip link show dev "$uplink" >/dev/null 2>&1 || die "--uplink: no network device named '$uplink'"
[[ "$confirm" =~ ^[0-9]+$ ]] && [ "$confirm" -ge 1 ] || die "--confirm-timeout: '$confirm' is not a number of seconds"

PREFIX="${PREFIX:-/usr/local}"
CONFIG_DIR="${CONFIG_DIR:-/etc/ovs-port-agent}"
STATE_DIR="${STATE_DIR:-/var/lib/ovs-port-agent}"
UNIT_DIR="${UNIT_DIR:-/etc/systemd/system}"
DBUS_SYSTEM_DIR="${DBUS_SYSTEM_DIR:-/etc/dbus-1/system.d}"
DBUS_SERVICES_DIR="${DBUS_SERVICES_DIR:-/usr/share/dbus-1/system-services}"
POLKIT_ACTIONS_DIR="${POLKIT_ACTIONS_DIR:-/usr/share/polkit-1/actions}"
POLKIT_RULES_DIR="${POLKIT_RULES_DIR:-/etc/polkit-1/rules.d}"

if [ -z "${BINARY:-}" ]; then
    . scripts/env
    BINARY="$CARGO_TARGET_DIR/release/portagent"
    if [ ! -x "$BINARY" ]; then
        say "Building portagent"
        cargo build --release --locked -p portagent
    fi
fi
[ -x "$BINARY" ] || die "no portagent binary at $BINARY"

say "Installing files"
install -D -m 0755 "$BINARY" "$PREFIX/bin/ovs-port-agent"
ln -sf ovs-port-agent "$PREFIX/bin/portagent"
agent="$PREFIX/bin/ovs-port-agent"
# Man pages and shell completions (generated from the commands: dist/).
install -d "$PREFIX/share/man/man1"
install -m 0644 dist/man/*.1 "$PREFIX/share/man/man1/"
for name in ovs-port-agent portagent; do
    install -D -m 0644 "dist/completions/$name.bash" "$PREFIX/share/bash-completion/completions/$name"
    install -D -m 0644 "dist/completions/_$name" "$PREFIX/share/zsh/vendor-completions/_$name"
    install -D -m 0644 "dist/completions/$name.fish" "$PREFIX/share/fish/vendor_completions.d/$name.fish"
done
install -D -m 0644 systemd/dev.ovs.PortAgent1.conf "$DBUS_SYSTEM_DIR/dev.ovs.PortAgent1.conf"
install -D -m 0644 systemd/dev.ovs.PortAgent1.service "$DBUS_SERVICES_DIR/dev.ovs.PortAgent1.service"
install -D -m 0644 systemd/dev.ovs.PortAgent1.policy "$POLKIT_ACTIONS_DIR/dev.ovs.PortAgent1.policy"
install -D -m 0644 systemd/50-ovs-port-agent.rules "$POLKIT_RULES_DIR/50-ovs-port-agent.rules"
mkdir -p "$UNIT_DIR"
sed "s|^ExecStart=.*|ExecStart=$agent daemon|" systemd/ovs-port-agent.service > "$UNIT_DIR/ovs-port-agent.service"
chmod 0644 "$UNIT_DIR/ovs-port-agent.service"
install -d -m 0700 "$STATE_DIR"
install -d -m 0755 "$CONFIG_DIR"
if [ ! -e "$CONFIG_DIR/config.toml" ]; then
    sed "s|^bridge_name = .*|bridge_name = \"$bridge\"|" config/config.toml.example > "$CONFIG_DIR/config.toml"
elif ! grep -q "^bridge_name = \"$bridge\"" "$CONFIG_DIR/config.toml"; then
    echo "note: $CONFIG_DIR/config.toml is kept as it is; its bridge_name is not $bridge"
fi
# The built-in plugins compiled now, so the first command is as fast as the
# next (and artifacts of an earlier version are removed).
"$agent" --config "$CONFIG_DIR/config.toml" plugin precompile
# A running bus picks up the new policy now.
dbus-send --system --print-reply --dest=org.freedesktop.DBus / org.freedesktop.DBus.ReloadConfig >/dev/null 2>&1 || true
echo "installed $agent, its D-Bus policy, polkit action and rule, systemd unit, $CONFIG_DIR/config.toml"

say "Reading $uplink's current configuration"
v4=$(ip -o -4 addr show dev "$uplink" scope global | awk '{print $4}')
# SLAAC addresses and router-advertised routes stay automatic: not copied.
v6=$(ip -o -6 addr show dev "$uplink" scope global | grep -v ' dynamic' | awk '{print $4}' || true)
dynamic=$(ip -o -4 addr show dev "$uplink" scope global | grep -c ' dynamic' || true)
gw4=$(ip -4 route show default dev "$uplink" | awk '/^default via/ {print $3; exit}')
gw6=$(ip -6 route show default dev "$uplink" | grep -v 'proto ra' | awk '/^default via/ {print $3; exit}' || true)
others=$(ip route show dev "$uplink" | grep -v '^default' | grep -v 'proto kernel' || true)
echo "IPv4: ${v4:-none}  IPv6: ${v6:-none}  gateway: ${gw4:-none} ${gw6:-}"
[ -z "$others" ] || printf 'note: these routes on %s are not moved (only the default route is):\n%s\n' "$uplink" "$others"

ip_block() { # FAMILY ADDRESSES GATEWAY
    local addrs="$2" gw="$3"
    echo "        $1:"
    if [ "$dynamic" -gt 0 ] && [ "$1" = ipv4 ]; then
        echo "          enabled: true"
        echo "          dhcp: true"
        return
    fi
    echo "          enabled: true"
    echo "          dhcp: false"
    echo "          address:"
    for a in $addrs; do
        echo "            - ip: ${a%/*}"
        echo "              prefix: ${a#*/}"
    done
    [ -z "$gw" ] || echo "          gateway: $gw"
}

state="$CONFIG_DIR/initial-state.yaml"
{
    echo "# Written by scripts/install.sh: $uplink's configuration, moved onto $bridge."
    echo "version: 1"
    echo "plugins:"
    echo "  net:"
    echo "    interfaces:"
    echo "      - name: $bridge"
    echo "        type: ovs-bridge"
    echo "        ports:"
    echo "          - $uplink"
    if [ -n "$v4" ] || [ "$dynamic" -gt 0 ]; then ip_block ipv4 "$v4" "$gw4"; fi
    if [ -n "$v6" ]; then ip_block ipv6 "$v6" "$gw6"; fi
    echo "      - name: $uplink"
    echo "        type: ethernet"
    echo "        controller: $bridge"
    echo "        ipv4:"
    echo "          enabled: false"
    if [ "$with_ovsbr1" = 1 ]; then
        echo "      - name: ovsbr1"
        echo "        type: ovs-bridge"
        echo "        ipv4:"
        echo "          enabled: true"
        echo "          dhcp: false"
        echo "          address:"
        echo "            - ip: 10.0.100.1"
        echo "              prefix: 24"
    fi
    if [ "$purge" = 1 ]; then
        for b in $(ovs-vsctl --timeout=10 list-br); do
            if [ "$b" != "$bridge" ] && { [ "$with_ovsbr1" = 0 ] || [ "$b" != ovsbr1 ]; }; then
                echo "      - name: $b"
                echo "        type: ovs-bridge"
                echo "        state: absent"
                echo "        force: true"
            fi
        done
    fi
    if [ -n "$gw4" ]; then
        echo "probe:"
        echo "  ping: [$gw4]"
    fi
} > "$state"
cat "$state"

say "What will change"
"$agent" show-diff "$state" --output text

say "Applying with confirm-or-revert ($confirm s)"
rc=0
"$agent" apply-state "$state" --confirm-timeout "$confirm" --detailed-exitcode || rc=$?
case "$rc" in
    0) echo "nothing to change: the host already matches" ;;
    # Reaching this line means this session survived the change and the
    # gateway answered: keep it.
    5) "$agent" commit ;;
    *) die "the apply failed (exit $rc) and was rolled back; nothing changed (see above)" ;;
esac

if [ "$system" = 1 ]; then
    say "Enabling the service"
    if [ -d /run/systemd/system ]; then
        systemctl daemon-reload
        systemctl enable --now ovs-port-agent.service
        systemctl --no-pager status ovs-port-agent.service | head -5 || true
    else
        echo "systemd is not running here: start the daemon with '$agent daemon' (the unit is in $UNIT_DIR)"
    fi
fi
say "Done: $uplink is a port of $bridge"
