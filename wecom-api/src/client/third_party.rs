//! Clients made from another client's credential (a corp that authorised a suite, a
//! downstream corp, a hardware device) and the tickets WeCom pushes to suites and
//! hardware models.

use std::sync::{Arc, PoisonError};

use super::Client;
use super::principal::{Principal, TICKET_LIFETIME_SECS};
use crate::Secret;
use crate::error::{Error, Result};
use crate::token::{Token, now_unix};

/// How a downstream corp is related to the corp whose app reaches it, as
/// `corpgroup/corp/gettoken` asks (`business_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CorpGroupKind {
    /// 企业互联 or 局校互联 (`business_type` 0).
    Linked,
    /// 上下游 (`business_type` 1).
    Chain,
}

impl CorpGroupKind {
    fn business_type(self) -> i64 {
        match self {
            CorpGroupKind::Linked => 0,
            CorpGroupKind::Chain => 1,
        }
    }
}

impl Client {
    /// A client for a corp that authorised this suite, from its corp id and the
    /// permanent code of the authorisation (a `String` or the `Secret` that
    /// `service/get_permanent_code` or `service/v2/get_permanent_code` answer, after the
    /// `create_auth` notification).
    ///
    /// Its `access_token` comes from `service/get_corp_token` with this suite's token,
    /// is kept in the same token store under a key of its own, and is refreshed by itself
    /// when it expires or WeCom rejects it. Every corp endpoint is available on it. It
    /// shares this client's connection pool, store and settings: make one per corp and
    /// call away, for as many corps as the suite has. Making it again (per request, say) is
    /// cheap: every client of the same store in this process shares the corp's token, its
    /// refresh and a remembered failure, so `get_corp_token` is asked once per corp,
    /// however many clients ask at once.
    ///
    /// For a 代开发 app, the permanent code is the app's secret: build a plain corp client
    /// with `.corp_id(auth_corp_id).secret(permanent_code)` instead.
    ///
    /// Fails with [`Error::InvalidArgument`] if this is not a suite client or an argument
    /// is empty.
    pub fn authorized_corp(
        &self,
        corp_id: impl Into<String>,
        permanent_code: impl Into<Secret>,
    ) -> Result<Client> {
        if !matches!(self.inner.principal, Principal::Suite { .. }) {
            return Err(self.not_for("authorized_corp", "a suite client"));
        }
        let principal = Principal::AuthorizedCorp {
            suite: self.clone(),
            corp_id: non_empty(corp_id.into(), "corp_id")?,
            permanent_code: non_empty(permanent_code.into().into_inner(), "permanent_code")?,
        };
        Ok(self.derived(principal))
    }

    /// A client for a downstream (上下游) or linked (企业互联, 局校互联) corp that this
    /// corp's app `agent_id` is shared with. Its `access_token` comes from
    /// `corpgroup/corp/gettoken` with this client's token, cached and refreshed on its own.
    ///
    /// Fails with [`Error::InvalidArgument`] unless this client holds a corp's
    /// `access_token`.
    pub fn downstream_corp(
        &self,
        corp_id: impl Into<String>,
        agent_id: i64,
        kind: CorpGroupKind,
    ) -> Result<Client> {
        if !matches!(
            self.inner.principal,
            Principal::Corp { .. }
                | Principal::AuthorizedCorp { .. }
                | Principal::Downstream { .. }
        ) {
            return Err(self.not_for("downstream_corp", "a corp client"));
        }
        let principal = Principal::Downstream {
            upstream: self.clone(),
            corp_id: non_empty(corp_id.into(), "corp_id")?,
            agent_id,
            business_type: kind.business_type(),
        };
        Ok(self.derived(principal))
    }

    /// A client for one device of this hardware model, from its SN and the device secret
    /// (`openhw/get_device_secret`). Its `device_access_token` comes from
    /// `openhw/get_device_token` with the model's token, cached and refreshed on its own.
    ///
    /// Fails with [`Error::InvalidArgument`] unless this is a hardware model client.
    pub fn device(
        &self,
        device_sn: impl Into<String>,
        device_secret: impl Into<Secret>,
    ) -> Result<Client> {
        if !matches!(self.inner.principal, Principal::Model { .. }) {
            return Err(self.not_for("device", "a hardware model client"));
        }
        let principal = Principal::Device {
            model: self.clone(),
            device_sn: non_empty(device_sn.into(), "device_sn")?,
            device_secret: non_empty(device_secret.into().into_inner(), "device_secret")?,
        };
        Ok(self.derived(principal))
    }

    /// Hands a suite (or hardware model) client the ticket WeCom pushed to its callback
    /// URL: the `suite_ticket` of the `suite_ticket` notification (or the `model_ticket`),
    /// and the push's `TimeStamp` (`None`: now).
    ///
    /// The ticket is kept in the token store, where every process sharing it finds it, and
    /// replaces the one there only if it is newer (WeCom resends unacknowledged pushes, so
    /// an old one can arrive late). Returns whether it was kept. The suite token already
    /// issued stays in use; the ticket is read when a new one is needed. A ticket older
    /// than its 30 minutes is ignored.
    ///
    /// Fails with [`Error::InvalidArgument`] if this client takes no ticket or the ticket
    /// is empty.
    pub async fn save_ticket(&self, ticket: &str, pushed_at: Option<i64>) -> Result<bool> {
        let Some(key) = self.inner.principal.ticket_key() else {
            return Err(self.not_for("save_ticket", "a suite or hardware model client"));
        };
        if ticket.is_empty() {
            return Err(Error::invalid_argument("ticket", "is empty"));
        }
        let now = now_unix();
        // A clock ahead of ours must not make a ticket outlive its 30 minutes here.
        let pushed = pushed_at
            .and_then(|t| u64::try_from(t).ok())
            .map_or(now, |t| t.min(now));
        let token = Token::new(ticket, pushed.saturating_add(TICKET_LIFETIME_SECS));
        if !token.is_valid_at(now) {
            // Usually a push retried long after, or a clock far from WeCom's.
            tracing::warn!(
                id = self.inner.principal.id(),
                pushed,
                now,
                "ignored a pushed ticket more than 30 minutes old"
            );
            return Ok(false);
        }
        let newer_here = {
            let mut local = self
                .inner
                .ticket
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            let newer = local
                .as_ref()
                .is_none_or(|held| held.expires_at() <= token.expires_at());
            if newer {
                *local = Some(token.clone());
            }
            newer
        };
        let store = self.inner.tokens.store();
        Ok(store.set_if_newer(&key, token).await.unwrap_or(newer_here))
    }

    /// The `suite_ticket` of a typed `suite_ticket` notification, checked to be for this
    /// suite (a callback URL shared by several suites must not mix their tickets up).
    /// See [`save_ticket`](Self::save_ticket).
    #[cfg(feature = "callbacks")]
    pub async fn save_suite_ticket(
        &self,
        event: &crate::callback::SuiteTicketEvent,
    ) -> Result<bool> {
        let Principal::Suite { suite_id, .. } = &self.inner.principal else {
            return Err(self.not_for("save_suite_ticket", "a suite client"));
        };
        if event.suite_id.as_deref() != Some(suite_id.as_str()) {
            return Err(Error::invalid_argument(
                "SuiteId",
                format!(
                    "the notification is for suite {}, this client is suite {suite_id}",
                    event.suite_id.as_deref().unwrap_or("(none)")
                ),
            ));
        }
        let ticket = event.suite_ticket.as_ref().map_or("", |t| t.expose());
        self.save_ticket(ticket, event.time_stamp).await
    }

    /// The newest ticket this process or the store has, for a suite or model token.
    pub(super) async fn current_ticket(&self) -> Result<String> {
        let principal = &self.inner.principal;
        let Some(key) = principal.ticket_key() else {
            return Err(self.not_for("ticket", "a suite or hardware model client"));
        };
        let now = now_unix();
        let stored = self.inner.tokens.store().get(&key).await;
        let local = self
            .inner
            .ticket
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        [stored, local]
            .into_iter()
            .flatten()
            .filter(|t| t.is_valid_at(now))
            .max_by_key(Token::expires_at)
            .map(|t| t.value().to_owned())
            .ok_or_else(|| Error::MissingTicket {
                kind: key.kind().as_str(),
                id: principal.id().to_owned(),
            })
    }

    fn derived(&self, principal: Principal) -> Client {
        Client {
            inner: Arc::new(self.inner.derive(principal)),
            deadline: self.deadline,
            agent_id: None,
        }
    }

    fn not_for(&self, what: &'static str, needs: &str) -> Error {
        Error::invalid_argument(
            what,
            format!(
                "needs {needs}; this client is for {}",
                self.inner.principal.describe()
            ),
        )
    }
}

fn non_empty(value: String, what: &'static str) -> Result<String> {
    if value.is_empty() {
        return Err(Error::invalid_argument(what, "is empty"));
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn suite() -> Client {
        Client::builder()
            .suite("wwsuite", "suite-secret")
            .build()
            .unwrap()
    }

    #[tokio::test]
    async fn tickets_keep_the_newest_and_ignore_expired_ones() {
        let suite = suite();
        assert!(matches!(
            suite.current_ticket().await,
            Err(Error::MissingTicket {
                kind: "suite_ticket",
                ..
            })
        ));
        let now = i64::try_from(now_unix()).unwrap();
        assert!(suite.save_ticket("T-new", Some(now - 60)).await.unwrap());
        assert!(!suite.save_ticket("T-old", Some(now - 600)).await.unwrap());
        assert!(!suite.save_ticket("T-dead", Some(now - 4000)).await.unwrap());
        assert_eq!(suite.current_ticket().await.unwrap(), "T-new");
        assert!(suite.save_ticket("T-newer", None).await.unwrap());
        assert_eq!(suite.current_ticket().await.unwrap(), "T-newer");
        let e = suite.save_ticket("", None).await.unwrap_err();
        assert!(e.to_string().contains("ticket"), "{e}");
    }

    #[tokio::test]
    async fn derived_clients_need_the_right_parent() {
        let corp = Client::builder()
            .corp_id("ww1")
            .secret("s")
            .build()
            .unwrap();
        let e = corp.authorized_corp("ww2", "code").unwrap_err();
        assert!(e.to_string().contains("needs a suite client"), "{e}");
        assert!(e.to_string().contains("corp ww1"), "{e}");
        assert!(corp.device("SN", "x").is_err());
        assert!(corp.save_ticket("t", None).await.is_err());
        let suite = suite();
        assert!(
            suite
                .downstream_corp("ww3", 1, CorpGroupKind::Chain)
                .is_err()
        );
        let authorised = suite.authorized_corp("ww2", "code").unwrap();
        assert_eq!(authorised.corp_id(), "ww2");
        assert!(authorised.authorized_corp("ww4", "code").is_err());
        let down = authorised
            .downstream_corp("ww5", 1000002, CorpGroupKind::Linked)
            .unwrap();
        assert_eq!(down.corp_id(), "ww5");
        assert!(suite.authorized_corp("", "code").is_err());
        assert!(suite.authorized_corp("ww2", "").is_err());
        let shown = format!("{authorised:?}");
        assert!(shown.contains("authorised to suite wwsuite"), "{shown}");
        assert!(!shown.contains("code\""), "{shown}");
    }

    #[test]
    fn keys_differ_between_issuers_with_the_same_ids() {
        let suite = suite();
        let a = suite.authorized_corp("ww2", "code").unwrap();
        let b = Client::builder()
            .suite("wwother", "suite-secret")
            .build()
            .unwrap()
            .authorized_corp("ww2", "code")
            .unwrap();
        let corp = Client::builder()
            .corp_id("ww2")
            .secret("code")
            .build()
            .unwrap();
        let keys = [
            a.inner.tokens.key(),
            b.inner.tokens.key(),
            corp.inner.tokens.key(),
        ];
        assert_ne!(keys[0], keys[1]);
        assert_ne!(keys[0], keys[2]);
        assert_ne!(keys[1], keys[2]);
        assert_eq!(a.inner.tokens.key().kind().as_str(), "access_token");
        assert_eq!(
            suite.inner.tokens.key().kind().as_str(),
            "suite_access_token"
        );
    }
}
