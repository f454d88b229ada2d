//! A throwaway network lab for tests and demos: a network namespace plus a
//! private mount namespace and UTS namespace (its own hostname) running a system dbus-daemon, Open vSwitch
//! (userspace datapath) and systemd-networkd.
//!
//! Inside the lab, `/etc`, `/var/lib` and `/var/log` are overlays whose
//! writes land in the lab's own dir, and `/run` is a fresh tmpfs; so the
//! product's default paths (`/run/openvswitch/db.sock`,
//! `/etc/systemd/network`, `/etc/ovs-port-agent/`,
//! `/var/lib/ovs-port-agent/`, `/var/log/ovs-port-agent/`, the system bus
//! socket) all point into the lab and the product runs unchanged. The lab
//! has its own hostname (the lab's name, also in its `/etc/hostname`), so
//! setting one never changes the machine's. Nothing touches the root
//! network namespace.
//!
//! Teardown always happens: on drop (so on test failure and panic too), and
//! for labs whose owning process died (`kill -9`, a crash), at the start of
//! the next lab.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// The deployment guide's examples, verbatim, for tests and the demo.
pub mod guide {
    /// The "Python API Client" example.
    pub const PYTHON_CLIENT: &str = r#"#!/usr/bin/env python3
import dbus

# Connect to system bus
bus = dbus.SystemBus()

# Get service proxy
proxy = bus.get_object('dev.ovs.PortAgent1', '/dev/ovs/PortAgent1')
interface = dbus.Interface(proxy, 'dev.ovs.PortAgent1')

# Ping
result = interface.ping()
print(f"Ping: {result}")

# Query state
state = interface.QueryState("net")
print(f"Network state: {state}")

# Get blockchain stats
stats = interface.get_blockchain_stats()
print(f"Blockchain: {stats}")
"#;

    /// The "Net Plugin" state file example.
    pub const NET_STATE: &str = r#"version: 1
plugins:
  net:
    interfaces:
      # OVS Bridge with static IP
      - name: ovsbr0
        type: ovs-bridge
        ports:
          - eth0  # Physical uplink
        ipv4:
          enabled: true
          dhcp: false
          address:
            - ip: 192.168.1.100
              prefix: 24
          gateway: 192.168.1.1
          dns:
            - 8.8.8.8
            - 8.8.4.4
      
      # Physical interface (enslaved)
      - name: eth0
        type: ethernet
        controller: ovsbr0  # Enslaved to bridge
        ipv4:
          enabled: false  # No IP on enslaved interface
      
      # Container bridge (no uplink)
      - name: ovsbr1
        type: ovs-bridge
        ipv4:
          enabled: true
          dhcp: false
          address:
            - ip: 10.0.100.1
              prefix: 24
"#;

    /// The "Netcfg Plugin" state file example, verbatim.
    pub const NETCFG_STATE: &str = r#"version: 1
plugins:
  netcfg:
    routing:
      # Static route for VPN network
      - destination: 10.0.0.0/8
        gateway: 192.168.1.254
        interface: ovsbr0
        metric: 100
    
    dns:
      hostname: netmaker-server
      search_domains:
        - vpn.internal
        - example.com
    
    ovs_flows:
      # Allow VPN traffic
      - bridge: ovsbr0
        priority: 200
        match_rule: "ip,nw_dst=10.0.0.0/8"
        actions: "normal"
      
      # Drop specific traffic
      - bridge: ovsbr0
        priority: 100
        match_rule: "ip,nw_src=192.168.100.0/24"
        actions: "drop"
"#;

    /// The "Initial Configuration" config.toml, plus the userspace
    /// datapath a lab needs (no OVS kernel module here).
    pub const CONFIG: &str = r#"bridge_name = "ovsbr0"
interfaces_path = "/etc/network/interfaces"
ledger_path = "/var/lib/ovs-port-agent/ledger.jsonl"
naming_template = "vi{vmid}"
enable_rename = false
managed_block_tag = "ovs-port-agent"
# The lab has no OVS kernel module: use the userspace datapath.
datapath_type = "netdev"
"#;
}

/// The trees that are private to a lab (overlays or tmpfs); everything
/// else inside the lab's mount namespace is the host's own filesystem.
pub const PRIVATE_TREES: &[&str] = &["/etc", "/var/lib", "/var/log", "/run"];

/// Where lab dirs live; one sub-dir per lab.
pub const LABS_DIR: &str = "/var/tmp/portagent-labs";

/// The daemons of a lab a test may stop and start again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Daemon {
    OvsdbServer,
    OvsVswitchd,
    Networkd,
}

impl Daemon {
    fn name(self) -> &'static str {
        match self {
            Daemon::OvsdbServer => "ovsdb-server",
            Daemon::OvsVswitchd => "ovs-vswitchd",
            Daemon::Networkd => "systemd-networkd",
        }
    }
}

/// What else to put into a lab.
#[derive(Default, Clone)]
pub struct Options {
    /// D-Bus policy files to install into the lab's `/etc/dbus-1/system.d`.
    pub dbus_policies: Vec<PathBuf>,
    /// Also run polkitd (for authorisation tests).
    pub polkit: bool,
    /// polkit action files to add to the lab's view of
    /// `/usr/share/polkit-1/actions` (a copy bind-mounted in the lab only).
    pub polkit_actions: Vec<PathBuf>,
}

/// A running lab. Dropping it tears everything down.
pub struct Lab {
    name: String,
    dir: PathBuf,
    /// Daemons we started, by name, for teardown.
    daemons: Vec<(String, u32)>,
    children: Vec<Child>,
    peers: Vec<String>,
}

static NEXT: AtomicU32 = AtomicU32::new(0);

fn run(cmd: &mut Command) -> io::Result<String> {
    let out = cmd.stdin(Stdio::null()).output()?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(io::Error::other(format!(
            "{cmd:?} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        )))
    }
}

/// Whether `pid` runs (a zombie waiting for its reaper does not).
fn pid_alive(pid: u32) -> bool {
    match fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => !matches!(stat.rsplit_once(')').map(|(_, r)| r.trim_start().as_bytes()[0]), Some(b'Z' | b'X')),
        Err(_) => false,
    }
}

/// The start time of `pid` (field 22 of /proc/PID/stat), to tell a live
/// owner from a recycled pid.
fn start_time(pid: u32) -> Option<String> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = stat.rsplit_once(')')?.1;
    after.split_whitespace().nth(19).map(str::to_string)
}

fn kill_pid(pid: u32) {
    if !pid_alive(pid) {
        return;
    }
    // SAFETY: plain signals to a process this lab started.
    unsafe { libc::kill(pid as libc::pid_t, libc::SIGTERM) };
    let deadline = Instant::now() + Duration::from_secs(3);
    while pid_alive(pid) && Instant::now() < deadline {
        reap(pid);
        std::thread::sleep(Duration::from_millis(10));
    }
    if pid_alive(pid) {
        unsafe { libc::kill(pid as libc::pid_t, libc::SIGKILL) };
        std::thread::sleep(Duration::from_millis(20));
    }
    reap(pid);
}

fn reap(pid: u32) {
    let mut status = 0;
    // SAFETY: non-blocking wait; fails harmlessly if `pid` is not our child.
    unsafe { libc::waitpid(pid as libc::pid_t, &mut status, libc::WNOHANG) };
}

/// The setup run once inside the new mount namespace.
fn setup_script(name: &str, dir: &Path) -> String {
    let d = dir.display();
    format!(
        r#"set -e
mount -t overlay overlay -o lowerdir=/etc,upperdir={d}/etc.upper,workdir={d}/etc.work /etc
mount -t overlay overlay -o lowerdir=/var/lib,upperdir={d}/var.upper,workdir={d}/var.work /var/lib
mount -t overlay overlay -o lowerdir=/var/log,upperdir={d}/log.upper,workdir={d}/log.work /var/log
umount -l /sys
nsenter --net=/run/netns/{name} mount -t sysfs -o ro sysfs /sys
mount -t tmpfs -o mode=0755 tmpfs /run
mkdir -p /run/systemd/netif/links /run/systemd/netif/leases /run/systemd/netif/lldp /run/dbus /run/openvswitch
chown -R systemd-network:systemd-network /run/systemd/netif
rm -rf /etc/systemd/network /etc/ovs-port-agent /var/lib/ovs-port-agent /var/log/ovs-port-agent /etc/network/interfaces.d
mkdir -p /etc/systemd/network /etc/ovs-port-agent /var/lib/ovs-port-agent /etc/network
: > /etc/network/interfaces
hostname {name}
echo {name} > /etc/hostname
"#
    )
}

impl Lab {
    /// A lab with dbus, OVS and networkd running.
    pub fn start() -> io::Result<Lab> {
        Lab::start_with(Options::default())
    }

    pub fn start_with(options: Options) -> io::Result<Lab> {
        reap_stale_labs();
        let n = NEXT.fetch_add(1, Ordering::SeqCst);
        let name = format!("pa{}x{n}", std::process::id());
        let dir = Path::new(LABS_DIR).join(&name);
        // The dir appears (by rename) only with its owner inside, so a
        // concurrent `reap_stale_labs` never takes a starting lab for dead.
        let staging = Path::new(LABS_DIR).join(format!(".{name}"));
        fs::create_dir_all(&staging)?;
        let owner = format!("{} {}\n", std::process::id(), start_time(std::process::id()).unwrap_or_default());
        // Atomic too: a reaper must never read a half-written owner.
        fs::write(staging.join("owner.tmp"), owner)?;
        fs::rename(staging.join("owner.tmp"), staging.join("owner"))?;
        fs::rename(&staging, &dir)?;
        let mut lab = Lab { name, dir, daemons: vec![], children: vec![], peers: vec![] };
        lab.create(&options)?; // on error, `lab` drops and tears down
        Ok(lab)
    }

    fn create(&mut self, options: &Options) -> io::Result<()> {
        let d = self.dir.clone();
        for sub in ["etc.upper", "etc.work", "var.upper", "var.work", "log.upper", "log.work", "logs"] {
            fs::create_dir_all(d.join(sub))?;
        }
        run(Command::new("ip").args(["netns", "add", &self.name]))?;
        run(Command::new("mount").arg("--bind").arg(&d).arg(&d))?;
        run(Command::new("mount").args(["--make-private"]).arg(&d))?;
        fs::write(d.join("mnt"), "")?;
        fs::write(d.join("uts"), "")?;
        run(Command::new("unshare")
            .arg(format!("--mount={}", d.join("mnt").display()))
            .arg(format!("--uts={}", d.join("uts").display()))
            .args(["--propagation", "private", "sh", "-c", &setup_script(&self.name, &d)]))?;
        self.sh("ip link set lo up")?;

        for policy in &options.dbus_policies {
            let file = policy.file_name().ok_or_else(|| io::Error::other("policy path has no file name"))?;
            let inside = Path::new("/etc/dbus-1/system.d").join(file);
            self.write(&inside, &fs::read(policy)?)?;
        }
        let pid = self.sh("dbus-daemon --system --fork --print-pid")?;
        self.track("dbus-daemon", pid.trim())?;

        let logs = d.join("logs");
        self.sh(&format!("ovsdb-tool create {}/conf.db /usr/share/openvswitch/vswitch.ovsschema", logs.display()))?;
        self.start_daemon(Daemon::OvsdbServer)?;
        self.sh("ovs-vsctl --no-wait init")?;
        self.start_daemon(Daemon::OvsVswitchd)?;
        self.start_daemon(Daemon::Networkd)?;
        if !options.polkit_actions.is_empty() {
            self.sh("mkdir -p /run/portagent-lab/polkit-actions && \
                     cp -a /usr/share/polkit-1/actions/. /run/portagent-lab/polkit-actions/ && \
                     mount --bind /run/portagent-lab/polkit-actions /usr/share/polkit-1/actions")?;
            for action in &options.polkit_actions {
                let file = action.file_name().ok_or_else(|| io::Error::other("action path has no file name"))?;
                self.write(Path::new("/run/portagent-lab/polkit-actions").join(file), &fs::read(action)?)?;
            }
        }
        if options.polkit {
            let polkit = self.spawn("/usr/lib/polkit-1/polkitd --no-debug", &logs.join("polkitd.log"))?;
            self.daemons.push(("polkitd".into(), polkit.id()));
            self.children.push(polkit);
        }
        self.wait_until(Duration::from_secs(10), "networkd on the lab's bus", || {
            self.sh("networkctl list --no-pager").is_ok()
        })?;
        Ok(())
    }

    fn track(&mut self, name: &str, pid: &str) -> io::Result<()> {
        let pid: u32 = pid.parse().map_err(|_| io::Error::other(format!("{name}: bad pid {pid:?}")))?;
        self.daemons.push((name.into(), pid));
        self.write_pids()
    }

    fn write_pids(&self) -> io::Result<()> {
        let list: String = self.daemons.iter().map(|(n, p)| format!("{n} {p}\n")).collect();
        fs::write(self.dir.join("pids"), list)
    }

    /// Starts one of the lab's daemons (again, after [`Lab::stop_daemon`]), as the
    /// lab first did: same database, sockets and log files.
    pub fn start_daemon(&mut self, daemon: Daemon) -> io::Result<()> {
        let logs = self.dir.join("logs");
        let l = logs.display();
        match daemon {
            Daemon::OvsdbServer => {
                self.sh(&format!(
                    "OVS_RUNDIR=/run/openvswitch ovsdb-server {l}/conf.db --remote=punix:/run/openvswitch/db.sock \
                       --pidfile={l}/ovsdb-server.pid --detach --log-file={l}/ovsdb-server.log"
                ))?;
                self.track_pidfile(daemon.name(), &logs.join("ovsdb-server.pid"))
            }
            Daemon::OvsVswitchd => {
                self.sh(&format!(
                    "OVS_RUNDIR=/run/openvswitch ovs-vswitchd unix:/run/openvswitch/db.sock \
                       --pidfile={l}/ovs-vswitchd.pid --detach --log-file={l}/ovs-vswitchd.log"
                ))?;
                self.track_pidfile(daemon.name(), &logs.join("ovs-vswitchd.pid"))
            }
            Daemon::Networkd => {
                let networkd = self.spawn("/lib/systemd/systemd-networkd", &logs.join("networkd.log"))?;
                self.daemons.push((daemon.name().into(), networkd.id()));
                self.children.push(networkd);
                self.write_pids()?;
                self.wait_until(Duration::from_secs(10), "networkd on the lab's bus", || {
                    self.sh("busctl --system list --no-pager").is_ok_and(|l| l.contains("org.freedesktop.network1"))
                })
            }
        }
    }

    /// Stops one of the lab's daemons with `signal` (by its pid, e.g.
    /// `libc::SIGKILL`) and waits until it is gone.
    pub fn stop_daemon(&mut self, daemon: Daemon, signal: i32) -> io::Result<()> {
        let at = self
            .daemons
            .iter()
            .position(|(n, _)| n == daemon.name())
            .ok_or_else(|| io::Error::other(format!("{} is not running in lab {}", daemon.name(), self.name)))?;
        let (_, pid) = self.daemons.remove(at);
        // SAFETY: a signal to a daemon this lab started.
        unsafe { libc::kill(pid as libc::pid_t, signal) };
        if let Some(i) = self.children.iter().position(|c| c.id() == pid) {
            let mut child = self.children.remove(i);
            child.wait()?;
        }
        kill_pid(pid);
        self.write_pids()
    }

    fn track_pidfile(&mut self, name: &str, path: &Path) -> io::Result<()> {
        let pid = fs::read_to_string(path)?;
        self.track(name, pid.trim())
    }

    fn spawn(&mut self, cmdline: &str, log: &Path) -> io::Result<Child> {
        let log = fs::OpenOptions::new().create(true).append(true).open(log)?;
        let child = self
            .command("sh")
            .args(["-c", &format!("exec {cmdline}")])
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()?;
        let list: String = self
            .daemons
            .iter()
            .map(|(n, p)| format!("{n} {p}\n"))
            .chain([format!("spawned {}\n", child.id())])
            .collect();
        fs::write(self.dir.join("pids"), list)?;
        Ok(child)
    }

    /// The lab's unique name (also its network namespace's name).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The lab's own dir on the host (logs under `logs/`).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// A command that runs `program` inside the lab's namespaces.
    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut cmd = Command::new("nsenter");
        cmd.arg(format!("--net=/run/netns/{}", self.name))
            .arg(format!("--mount={}", self.dir.join("mnt").display()))
            .arg(format!("--uts={}", self.dir.join("uts").display()))
            .arg("--")
            .arg(program);
        cmd
    }

    /// Runs a shell script inside the lab; its stdout, or an error with stderr.
    pub fn sh(&self, script: &str) -> io::Result<String> {
        run(self.command("sh").args(["-c", script]))
    }

    /// Runs a command inside the lab and returns its whole output.
    pub fn output(&self, program: &str, args: &[&str]) -> io::Result<Output> {
        self.command(program).args(args).stdin(Stdio::null()).output()
    }

    /// Host path of `inside` as the lab sees it.
    pub fn path(&self, inside: impl AsRef<Path>) -> PathBuf {
        let pid = self.daemons.first().map_or(0, |d| d.1);
        let rel = inside.as_ref().strip_prefix("/").unwrap_or(inside.as_ref());
        PathBuf::from(format!("/proc/{pid}/root")).join(rel)
    }

    /// Writes a file inside the lab. Only the lab-private trees (`/etc`,
    /// `/var/lib`, `/run`) may be written: anything else is the host's.
    pub fn write(&self, inside: impl AsRef<Path>, contents: &[u8]) -> io::Result<()> {
        let inside = inside.as_ref();
        if !PRIVATE_TREES.iter().any(|t| inside.starts_with(t)) || inside.components().any(|c| c.as_os_str() == "..") {
            return Err(io::Error::other(format!(
                "{}: outside the lab-private trees ({}); it would be the host's",
                inside.display(),
                PRIVATE_TREES.join(", ")
            )));
        }
        let mut child = self
            .command("sh")
            .args(["-c", "mkdir -p \"$(dirname \"$1\")\" && cat > \"$1\"", "sh"])
            .arg(inside)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()?;
        io::Write::write_all(child.stdin.as_mut().unwrap(), contents)?;
        drop(child.stdin.take());
        let out = child.wait_with_output()?;
        if out.status.success() {
            Ok(())
        } else {
            Err(io::Error::other(format!("write {}: {}", inside.display(), String::from_utf8_lossy(&out.stderr))))
        }
    }

    /// Reads a file inside the lab.
    pub fn read(&self, inside: impl AsRef<Path>) -> io::Result<String> {
        fs::read_to_string(self.path(inside))
    }

    /// Adds a NIC `name` to the lab: one end of a veth pair whose other end
    /// sits in a second namespace (the "upstream switch") with `peer_cidr`
    /// on it, so `ping` from the lab can reach the peer's address.
    pub fn add_nic(&mut self, name: &str, peer_cidr: &str) -> io::Result<()> {
        let peer_ns = format!("{}-up{}", self.name, self.peers.len());
        run(Command::new("ip").args(["netns", "add", &peer_ns]))?;
        self.peers.push(peer_ns.clone());
        // Created from the peer's side: inside the lab, /run (and so
        // /run/netns) is private, and the root namespace is never used.
        run(Command::new("ip").args([
            "netns",
            "exec",
            &peer_ns,
            "sh",
            "-c",
            &format!(
                "ip link add up0 type veth peer name {name} netns {lab} && ip link set lo up && \
             ip addr add {peer_cidr} dev up0 && ip link set up0 up",
                lab = self.name
            ),
        ]))?;
        self.sh(&format!("ip link set {name} up"))?;
        Ok(())
    }

    /// Polls `check` until it holds or `timeout` passes.
    pub fn wait_until(&self, timeout: Duration, what: &str, mut check: impl FnMut() -> bool) -> io::Result<()> {
        let deadline = Instant::now() + timeout;
        loop {
            if check() {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(io::Error::other(format!("lab {}: timed out waiting for {what}", self.name)));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// networkd's operational state of `link` (`routable`, `carrier`, ...).
    pub fn networkd_state(&self, link: &str) -> Option<String> {
        let out = self.sh("networkctl list --no-pager --no-legend").ok()?;
        out.lines().find_map(|l| {
            let cols: Vec<&str> = l.split_whitespace().collect();
            (cols.get(1) == Some(&link)).then(|| cols.get(3).unwrap_or(&"").to_string())
        })
    }

    /// Waits until networkd reports `link` in `state`.
    pub fn wait_networkd_state(&self, link: &str, state: &str, timeout: Duration) -> io::Result<()> {
        self.wait_until(timeout, &format!("{link} to be {state} in networkd"), || {
            self.networkd_state(link).as_deref() == Some(state)
        })
    }

    /// The kernel's addresses on `link` as `ip/prefix` strings.
    pub fn addresses(&self, link: &str) -> io::Result<Vec<String>> {
        let out = self.sh(&format!("ip -j addr show dev {link}"))?;
        let v: serde_json::Value = serde_json::from_str(&out).map_err(io::Error::other)?;
        Ok(v.as_array()
            .into_iter()
            .flatten()
            .flat_map(|l| l["addr_info"].as_array().cloned().unwrap_or_default())
            .map(|a| format!("{}/{}", a["local"].as_str().unwrap_or(""), a["prefixlen"]))
            .collect())
    }

    /// `ovs-vsctl ARGS` inside the lab.
    pub fn vsctl(&self, args: &str) -> io::Result<String> {
        self.sh(&format!("ovs-vsctl --timeout=10 {args}"))
    }

    fn teardown(&mut self) {
        for mut child in self.children.drain(..) {
            kill_pid(child.id());
            let _ = child.wait();
        }
        teardown_dir(&self.name, &self.dir, &self.daemons, &self.peers);
        self.daemons.clear();
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.print_log_tails();
        }
        self.teardown();
    }
}

/// How much of each log a failed test prints.
const LOG_TAIL_BYTES: u64 = 6000;

impl Lab {
    /// The last lines of the lab's logs (the daemon's, networkd's, OVS's)
    /// on stderr: a failed test in CI leaves nothing else behind.
    fn print_log_tails(&self) {
        use std::io::{Read, Seek, SeekFrom};
        let Ok(entries) = fs::read_dir(self.dir.join("logs")) else { return };
        let mut logs: Vec<PathBuf> =
            entries.flatten().map(|e| e.path()).filter(|p| p.extension().is_some_and(|e| e == "log")).collect();
        logs.sort();
        for path in logs {
            let Ok(mut f) = fs::File::open(&path) else { continue };
            let len = f.metadata().map(|m| m.len()).unwrap_or(0);
            let _ = f.seek(SeekFrom::Start(len.saturating_sub(LOG_TAIL_BYTES)));
            let mut tail = Vec::new();
            let _ = f.read_to_end(&mut tail);
            if !tail.is_empty() {
                eprintln!("--- lab {}: last of {} ---\n{}", self.name, path.display(), String::from_utf8_lossy(&tail));
            }
        }
    }
}

/// Kills a lab's daemons, deletes its namespaces, unmounts, removes the dir.
fn teardown_dir(name: &str, dir: &Path, daemons: &[(String, u32)], peers: &[String]) {
    for (_, pid) in daemons.iter().rev() {
        kill_pid(*pid);
    }
    // Anything else still running in the lab was started by a test in it
    // (e.g. portagent's confirm timer, which detaches on purpose).
    for ns in peers.iter().map(String::as_str).chain([name]) {
        let pids = Command::new("ip").args(["netns", "pids", ns]).stderr(Stdio::null()).output();
        for pid in pids.map(|o| String::from_utf8_lossy(&o.stdout).into_owned()).unwrap_or_default().split_whitespace()
        {
            if let Ok(pid) = pid.parse() {
                kill_pid(pid);
            }
        }
    }
    for ns in peers.iter().map(String::as_str).chain([name]) {
        let _ = Command::new("ip").args(["netns", "del", ns]).stderr(Stdio::null()).status();
    }
    let _ = Command::new("umount").arg(dir.join("mnt")).stderr(Stdio::null()).status();
    let _ = Command::new("umount").arg(dir.join("uts")).stderr(Stdio::null()).status();
    let _ = Command::new("umount").arg("-l").arg(dir).stderr(Stdio::null()).status();
    let _ = fs::remove_dir_all(dir);
}

/// Whether the process that started the lab in `dir` still runs.
fn owner_alive(dir: &Path) -> bool {
    let owner = fs::read_to_string(dir.join("owner")).unwrap_or_default();
    let mut parts = owner.split_whitespace();
    let pid: u32 = parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
    let started = parts.next().unwrap_or("");
    pid != 0 && pid_alive(pid) && start_time(pid).as_deref() == Some(started)
}

/// Tears down labs whose owning process is gone.
pub fn reap_stale_labs() {
    let Ok(entries) = fs::read_dir(LABS_DIR) else { return };
    for entry in entries.flatten() {
        let dir = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') {
            // A start that died before its rename: nothing is mounted yet.
            // One of ours that is still starting has a live owner.
            if !owner_alive(&dir) && dir.join("owner").exists() {
                let _ = fs::remove_dir_all(&dir);
            }
            continue;
        }
        if owner_alive(&dir) {
            continue;
        }
        let daemons: Vec<(String, u32)> = fs::read_to_string(dir.join("pids"))
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.split_once(' ').and_then(|(n, p)| Some((n.to_string(), p.trim().parse().ok()?))))
            .collect();
        let peers: Vec<String> = run(Command::new("ip").args(["netns", "list"]))
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.split_whitespace().next())
            .filter(|ns| ns.starts_with(&format!("{name}-up")))
            .map(str::to_string)
            .collect();
        teardown_dir(&name, &dir, &daemons, &peers);
    }
}
