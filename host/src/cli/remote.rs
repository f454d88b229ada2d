//! The CLI's way to the daemon: when `dev.ovs.PortAgent1` is on the system
//! bus, state commands go through it (one apply at a time, its confirm
//! timer, the caller's uid checked by polkit); otherwise they run the same
//! library in-process under the same lock. `PORTAGENT_NO_DAEMON=1` forces
//! in-process.

use super::{Failure, exit};
use crate::daemon::{BUS_NAME, OBJECT_PATH};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// A connection to the running daemon.
pub struct Remote {
    rt: tokio::runtime::Runtime,
    conn: zbus::Connection,
}

impl Remote {
    /// The daemon, if one serves on the system bus. Where the daemon's
    /// lock file is readable, it answers at once; otherwise (an
    /// unprivileged user) the bus is asked.
    pub fn find(state_dir: &std::path::Path) -> Option<Remote> {
        if std::env::var_os("PORTAGENT_NO_DAEMON").is_some_and(|v| v != "0") {
            return None;
        }
        if crate::state::lock::DaemonLock::held(state_dir) == Some(false) {
            return None;
        }
        // No bus socket: no daemon, and no need to try.
        let socket = std::env::var("DBUS_SYSTEM_BUS_ADDRESS").ok();
        if socket.is_none() && !std::path::Path::new("/run/dbus/system_bus_socket").exists() {
            return None;
        }
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().ok()?;
        let conn = rt.block_on(async {
            let conn = zbus::Connection::system().await.ok()?;
            let dbus = zbus::fdo::DBusProxy::new(&conn).await.ok()?;
            let name = zbus::names::BusName::try_from(BUS_NAME).ok()?;
            dbus.name_has_owner(name).await.ok()?.then_some(conn)
        })?;
        Some(Remote { rt, conn })
    }

    /// Calls `method` with `body`; its JSON answer, deserialized.
    pub fn call<B, T>(&self, method: &str, body: &B) -> Result<T, Failure>
    where
        B: Serialize + zbus::zvariant::DynamicType,
        T: DeserializeOwned,
    {
        let reply = self.rt.block_on(self.conn.call_method(Some(BUS_NAME), OBJECT_PATH, Some(BUS_NAME), method, body));
        answer(method, reply)
    }

    /// Calls `method` like [`Remote::call`], telling `progress` each
    /// `ApplyProgress` line the daemon sends this caller meanwhile.
    pub fn call_with_progress<B, T>(&self, method: &str, body: &B, progress: impl Fn(&str)) -> Result<T, Failure>
    where
        B: Serialize + zbus::zvariant::DynamicType,
        T: DeserializeOwned,
    {
        use futures::{FutureExt, StreamExt};
        let reply = self.rt.block_on(async {
            let rule = zbus::MatchRule::builder()
                .msg_type(zbus::message::Type::Signal)
                .interface(BUS_NAME)?
                .member("ApplyProgress")?
                .build();
            let mut lines = zbus::MessageStream::for_match_rule(rule, &self.conn, None).await?;
            let tell = |msg: zbus::Result<zbus::Message>| {
                if let Some(line) = msg.ok().and_then(|m| m.body().deserialize::<String>().ok()) {
                    progress(&line);
                }
            };
            let call = self.conn.call_method(Some(BUS_NAME), OBJECT_PATH, Some(BUS_NAME), method, body);
            tokio::pin!(call);
            let reply = loop {
                tokio::select! {
                    biased;
                    Some(msg) = lines.next() => tell(msg),
                    reply = &mut call => break reply,
                }
            };
            // Lines that came in just before the reply.
            while let Some(Some(msg)) = lines.next().now_or_never() {
                tell(msg);
            }
            reply
        });
        answer(method, reply)
    }
}

/// A method's JSON answer, deserialized; its error as the CLI's.
fn answer<T: DeserializeOwned>(method: &str, reply: zbus::Result<zbus::Message>) -> Result<T, Failure> {
    let msg = reply.map_err(|e| failure(method, e))?;
    let text: String =
        msg.body().deserialize().map_err(|e| Failure::from(anyhow::anyhow!("{BUS_NAME}.{method}: {e}")))?;
    serde_json::from_str(&text).map_err(|e| Failure::from(anyhow::anyhow!("{BUS_NAME}.{method}: bad answer: {e}")))
}

/// The methods the CLI calls that change nothing: when the daemon does
/// not answer one, nothing was changed either.
const READ_ONLY: &[&str] = &["ListPorts", "ShowDiff", "QueryState"];

/// The daemon's typed errors as the CLI's exit codes. A change the daemon
/// did not answer (it died, or dropped off the bus) may have been made
/// and recorded all the same: its outcome is unknown, not "failed".
fn failure(method: &str, e: zbus::Error) -> Failure {
    match e {
        // The bus itself refused the call (its policy), before the daemon
        // saw it: nothing was changed.
        zbus::Error::MethodError(name, _, _) if name.as_str() == "org.freedesktop.DBus.Error.AccessDenied" => {
            Failure::from(anyhow::anyhow!(
                "not allowed: {method} through the daemon needs root or membership of the group the bus policy \
                 names (netdev by default; see {BUS_NAME}.conf in /usr/share/dbus-1/system.d or /etc/dbus-1/system.d); nothing was changed"
            ))
        }
        zbus::Error::MethodError(name, message, _)
            if !name.as_str().starts_with("org.freedesktop.DBus.Error.NoReply") =>
        {
            let code = exit::of(crate::daemon::error::kind_of(name.as_str()));
            let message = message.unwrap_or_default();
            Failure { code, error: anyhow::anyhow!("{message} (from the daemon: {name})") }
        }
        other if !READ_ONLY.contains(&method) => Failure {
            code: exit::OUTCOME_UNKNOWN,
            error: anyhow::anyhow!(
                "the daemon did not answer {method} ({other}): the outcome is unknown, the change may have been \
                 made and recorded; see `portagent ledger show --last 3` and `portagent query-state`"
            ),
        },
        other => Failure::from(anyhow::anyhow!("the daemon: {other}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_change_the_daemon_did_not_answer_has_an_unknown_outcome() {
        let gone = || zbus::Error::Failure("the connection closed".into());
        let apply = failure("ApplyStateWithOptions", gone());
        assert_eq!(apply.code, exit::OUTCOME_UNKNOWN);
        assert!(format!("{:#}", apply.error).contains("outcome is unknown"), "{:#}", apply.error);
        assert_eq!(failure("Commit", gone()).code, exit::OUTCOME_UNKNOWN);
        assert_eq!(failure("QueryState", gone()).code, exit::FAILED, "a read changed nothing");
    }

    #[test]
    fn the_bus_refusing_a_call_is_said_in_words() {
        let denied = zbus::Error::MethodError(
            zbus::names::OwnedErrorName::try_from("org.freedesktop.DBus.Error.AccessDenied").unwrap(),
            Some("Rejected send message, 3 matched rules; type=\"method_call\", sender=\":1.9\"".into()),
            zbus::message::Message::method_call("/", "x").unwrap().build(&()).unwrap(),
        );
        let f = failure("ApplyStateWithOptions", denied);
        let text = format!("{:#}", f.error);
        assert!(text.contains("needs root or membership") && !text.contains("matched rules"), "{text}");
        assert_eq!(f.code, exit::FAILED, "refused before anything changed");
    }
}
