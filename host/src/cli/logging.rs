//! Where log lines go: to journald by its native protocol when
//! `JOURNAL_STREAM` says stderr is the journal (structured fields: the
//! priority, `SYSLOG_IDENTIFIER`, the module, and each key-value of the
//! record, e.g. `PORTAGENT_PLUGIN`), else plain text on stderr. `RUST_LOG`
//! filters both (default `info`).

use std::os::unix::net::UnixDatagram;

/// journald's native socket.
const JOURNAL_SOCKET: &str = "/run/systemd/journal/socket";

/// Installs the logger for this process.
pub fn init() {
    let env = || env_logger::Env::default().default_filter_or("info");
    if let Some(socket) = journal() {
        let filter = env_logger::Builder::from_env(env()).build();
        log::set_max_level(filter.filter());
        if log::set_boxed_logger(Box::new(Journal { filter, socket })).is_ok() {
            return;
        }
    }
    let mut logger = env_logger::Builder::from_env(env());
    if std::env::var_os("JOURNAL_STREAM").is_some() {
        // Under systemd without the native socket: journald's `<N>`
        // priority prefix on the stream, no timestamps.
        logger.format(|out, record| {
            use std::io::Write;
            writeln!(out, "<{}>{}: {}", priority(record.level()), record.target(), record.args())
        });
    } else {
        logger.format_timestamp(None);
    }
    logger.init();
}

/// syslog(3) priority of a log level.
fn priority(level: log::Level) -> u8 {
    match level {
        log::Level::Error => 3,
        log::Level::Warn => 4,
        log::Level::Info => 6,
        log::Level::Debug | log::Level::Trace => 7,
    }
}

/// The journal's socket, when `JOURNAL_STREAM` names the file stderr is
/// (systemd sets it so; a child whose stderr was redirected must not log
/// to the journal behind the caller's back).
fn journal() -> Option<UnixDatagram> {
    let stream = std::env::var("JOURNAL_STREAM").ok()?;
    let (dev, ino) = stream.split_once(':')?;
    let (dev, ino): (u64, u64) = (dev.parse().ok()?, ino.parse().ok()?);
    // SAFETY: fstat fills the zeroed struct for a descriptor we own (2).
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    if unsafe { libc::fstat(2, &mut st) } != 0 || st.st_dev != dev || st.st_ino != ino {
        return None;
    }
    let socket = UnixDatagram::unbound().ok()?;
    socket.connect(JOURNAL_SOCKET).ok()?;
    Some(socket)
}

struct Journal {
    filter: env_logger::Logger,
    socket: UnixDatagram,
}

/// Appends one field in journald's native form: `KEY=value\n`, or, for a
/// value with a newline, `KEY\n` + its length (u64 LE) + the value + `\n`.
fn field(out: &mut Vec<u8>, key: &str, value: &str) {
    out.extend_from_slice(key.as_bytes());
    if value.contains('\n') {
        out.push(b'\n');
        out.extend_from_slice(&(value.len() as u64).to_le_bytes());
    } else {
        out.push(b'=');
    }
    out.extend_from_slice(value.as_bytes());
    out.push(b'\n');
}

/// A record's key-values as journal fields (`plugin` -> `PORTAGENT_PLUGIN`).
struct Fields<'a>(&'a mut Vec<u8>);

impl<'kvs> log::kv::VisitSource<'kvs> for Fields<'_> {
    fn visit_pair(&mut self, key: log::kv::Key<'kvs>, value: log::kv::Value<'kvs>) -> Result<(), log::kv::Error> {
        let key: String = key.as_str().chars().filter(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
        field(self.0, &format!("PORTAGENT_{}", key.to_ascii_uppercase()), &value.to_string());
        Ok(())
    }
}

impl log::Log for Journal {
    fn enabled(&self, metadata: &log::Metadata) -> bool {
        self.filter.enabled(metadata)
    }

    fn log(&self, record: &log::Record) {
        if !self.filter.matches(record) {
            return;
        }
        let message = record.args().to_string();
        let datagram = |message: &str| {
            let mut out = Vec::with_capacity(256 + message.len());
            field(&mut out, "PRIORITY", &priority(record.level()).to_string());
            field(&mut out, "SYSLOG_IDENTIFIER", "ovs-port-agent");
            field(&mut out, "CODE_MODULE", record.target());
            field(&mut out, "MESSAGE", message);
            let _ = record.key_values().visit(&mut Fields(&mut out));
            out
        };
        // A message too big for one datagram is sent cut (every field
        // still whole), not lost.
        // A journald that refuses even that (gone, its queue full) gets the
        // line on stderr, which systemd hands to the journal too: a line is
        // never dropped.
        if self.socket.send(&datagram(&message)).is_err() {
            let end = message.floor_char_boundary(8 << 10);
            if self.socket.send(&datagram(&format!("{} [cut]", &message[..end]))).is_err() {
                use std::io::Write;
                let _ = writeln!(std::io::stderr(), "<{}>{}: {message}", priority(record.level()), record.target());
            }
        }
    }

    fn flush(&self) {}
}

#[cfg(test)]
mod tests {
    #[test]
    fn fields_are_in_journald_native_form() {
        let mut out = Vec::new();
        super::field(&mut out, "MESSAGE", "one line");
        super::field(&mut out, "MESSAGE", "two\nlines");
        let mut want = b"MESSAGE=one line\nMESSAGE\n".to_vec();
        want.extend_from_slice(&9u64.to_le_bytes());
        want.extend_from_slice(b"two\nlines\n");
        assert_eq!(out, want);
    }
}
