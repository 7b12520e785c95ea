//! Obtaining tokens and tickets from WeCom: `gettoken`, the JS-SDK tickets and what the
//! other credential kinds' issuers answer.

use std::sync::Arc;
use std::time::Instant;

use tracing::{Instrument, Span};

use crate::de::{self};
use crate::error::{Error, Result};
use crate::operation::{Credential, Method};
use crate::token::Fetched;

/// The gettoken call, made by the token cache itself rather than through generated code.
pub(super) const GETTOKEN: Call<'static> = Call {
    id: Some("token.get"),
    method: Method::Get,
    path: "/cgi-bin/gettoken",
    credential: Credential::CorpSecret,
    retry_safe: true,
};

/// The corp JS-SDK ticket (`wx.config`), fetched by the ticket cache.
pub(super) const JSAPI_TICKET: Call<'static> = Call {
    id: Some("jsapi_ticket.get"),
    method: Method::Get,
    path: "/cgi-bin/get_jsapi_ticket",
    credential: Credential::AccessToken,
    retry_safe: true,
};

/// The app JS-SDK ticket (`wx.agentConfig`), fetched by the ticket cache.
pub(super) const AGENT_TICKET: Call<'static> = Call {
    id: Some("agent_ticket.get"),
    method: Method::Get,
    path: "/cgi-bin/ticket/get",
    credential: Credential::AccessToken,
    retry_safe: true,
};
use super::call::{Budget, Call, Expect, Payload, Query, call_span, finish_span};
use super::principal::Principal;
use super::raw::{decode, encode_json};
use super::{Client, TicketKind};
use futures::future::BoxFuture;

impl Client {
    /// `GET /cgi-bin/gettoken` (with its own span and retries).
    pub(super) async fn fetch_token(&self) -> Result<Fetched> {
        let span = call_span(&GETTOKEN);
        let start = (!span.is_disabled()).then(Instant::now);
        let out = self.fetch_token_in(&span).instrument(span.clone()).await;
        finish_span(&span, start, &out);
        out
    }

    pub(super) async fn fetch_token_in(&self, span: &Span) -> Result<Fetched> {
        // The refresh task bounds the whole refresh; this only keeps backoffs inside it.
        let budget = Budget::new(self.deadline, span);
        let raw = self
            .attempts(
                &GETTOKEN,
                Query::None,
                &Payload::Empty,
                Expect::Json,
                None,
                &budget,
            )
            .await?;
        issued(&GETTOKEN, &raw.body, "access_token")
    }

    /// A JS-SDK ticket, cached like the token: local copy, then the store, then one fetch
    /// shared by every caller waiting for it (in every process, with a shared store).
    pub(crate) async fn cached_ticket(&self, kind: TicketKind) -> Result<Arc<str>> {
        let (cache, call, query): (_, &'static Call<'static>, &'static [(&str, &str)]) = match kind
        {
            TicketKind::Corp => (&self.inner.jsapi_ticket, &JSAPI_TICKET, &[]),
            TicketKind::Agent => (
                &self.inner.agent_ticket,
                &AGENT_TICKET,
                &[("type", "agent_config")],
            ),
        };
        let client = self.with_deadline(self.inner.deadline);
        cache
            .get(
                move || async move { client.fetch_ticket(call, query).await },
                None,
            )
            .await
    }

    /// `GET` a ticket with the access token; a token error refreshes the token once
    /// (the same path every call takes).
    pub(super) async fn fetch_ticket(
        &self,
        call: &Call<'static>,
        query: &[(&str, &str)],
    ) -> Result<Fetched> {
        let raw = self
            .run(call, Query::Raw(query), &Payload::Empty, Expect::Json)
            .await?;
        issued(call, &raw.body, "ticket")
    }
}

/// WeCom's documented lifetime, for a gettoken answer without `expires_in`.
pub(super) const DEFAULT_TOKEN_LIFETIME: i64 = 7200;

/// What the token and ticket issuers answer: each names its value after its kind.
#[derive(serde::Deserialize)]
pub(super) struct Issued {
    #[serde(
        default,
        alias = "access_token",
        alias = "suite_access_token",
        alias = "provider_access_token",
        alias = "model_access_token",
        alias = "device_access_token",
        alias = "ticket"
    )]
    value: String,
    #[serde(default, deserialize_with = "de::opt_int")]
    expires_in: Option<i64>,
}

/// The token (or ticket) an issuer answered; `field` names it when it is missing.
pub(super) fn issued(call: &Call<'_>, body: &[u8], field: &'static str) -> Result<Fetched> {
    let issued: Issued = decode(call, body)?;
    if issued.value.is_empty() {
        return Err(Error::Decode {
            endpoint: call.endpoint(),
            path: field.into(),
            message: format!("no {field} in the answer"),
            excerpt: String::new(),
        });
    }
    Ok(Fetched {
        value: issued.value,
        expires_in: issued.expires_in.unwrap_or(DEFAULT_TOKEN_LIFETIME),
    })
}

/// A token-issuing endpoint the runtime calls itself.
const fn issuer(id: &'static str, path: &'static str, credential: Credential) -> Call<'static> {
    Call {
        id: Some(id),
        method: Method::Post,
        path,
        credential,
        retry_safe: true,
    }
}

const GET_SUITE_TOKEN: Call<'static> = issuer(
    "suite.get_token",
    "/cgi-bin/service/get_suite_token",
    Credential::None,
);
const GET_CORP_TOKEN: Call<'static> = issuer(
    "suite.get_corp_token",
    "/cgi-bin/service/get_corp_token",
    Credential::SuiteAccessToken,
);
const GET_PROVIDER_TOKEN: Call<'static> = issuer(
    "provider.get_token",
    "/cgi-bin/service/get_provider_token",
    Credential::None,
);
const GET_DOWNSTREAM_TOKEN: Call<'static> = issuer(
    "corpgroup.get_token",
    "/cgi-bin/corpgroup/corp/gettoken",
    Credential::AccessToken,
);
const GET_MODEL_TOKEN: Call<'static> = issuer(
    "hardware_model.get_token",
    "/cgi-bin/openhw/get_model_token",
    Credential::None,
);
const GET_DEVICE_TOKEN: Call<'static> = issuer(
    "hardware_model.get_device_token",
    "/cgi-bin/openhw/get_device_token",
    Credential::ModelAccessToken,
);

impl Client {
    /// Obtains this client's own token from WeCom. Runs inside the shared refresh task.
    pub(super) async fn fetch_own_token(&self) -> Result<Fetched> {
        let body = match &self.inner.principal {
            Principal::Corp { .. } => return self.fetch_token().await,
            Principal::Webhook { .. } => {
                return Err(Error::invalid_argument(
                    "webhook_key",
                    "a group robot client has no token",
                ));
            }
            Principal::Suite { suite_id, secret } => {
                let ticket = self.current_ticket().await?;
                let body = serde_json::json!({
                    "suite_id": suite_id, "suite_secret": secret, "suite_ticket": ticket,
                });
                return self
                    .issue(&GET_SUITE_TOKEN, "suite_access_token", &body)
                    .await;
            }
            Principal::Model { model_id, secret } => {
                let ticket = self.current_ticket().await?;
                let body = serde_json::json!({
                    "model_id": model_id, "model_secret": secret, "model_ticket": ticket,
                });
                return self
                    .issue(&GET_MODEL_TOKEN, "model_access_token", &body)
                    .await;
            }
            Principal::Provider { corp_id, secret } => {
                let body = serde_json::json!({ "corpid": corp_id, "provider_secret": secret });
                return self
                    .issue(&GET_PROVIDER_TOKEN, "provider_access_token", &body)
                    .await;
            }
            Principal::AuthorizedCorp {
                suite,
                corp_id,
                permanent_code,
            } => (
                suite,
                &GET_CORP_TOKEN,
                "access_token",
                serde_json::json!({ "auth_corpid": corp_id, "permanent_code": permanent_code }),
            ),
            Principal::Downstream {
                upstream,
                corp_id,
                agent_id,
                business_type,
            } => (
                upstream,
                &GET_DOWNSTREAM_TOKEN,
                "access_token",
                serde_json::json!({
                    "corpid": corp_id, "business_type": business_type, "agentid": agent_id,
                }),
            ),
            Principal::Device {
                model,
                device_sn,
                device_secret,
            } => (
                model,
                &GET_DEVICE_TOKEN,
                "device_access_token",
                serde_json::json!({ "device_sn": device_sn, "device_secret": device_secret }),
            ),
        };
        // Issued with another client's token: that client refreshes its own on rejection.
        let (issuer_client, call, field, body) = body;
        issuer_client
            .with_deadline(issuer_client.inner.deadline)
            .issue(call, field, &body)
            .await
    }

    /// Boxed: an issuing call goes through [`Client::run`], which may refresh a token
    /// by calling here again (for a suite's authorised corp), and a recursive async fn
    /// needs a named, `Send` future.
    fn issue<'a>(
        &'a self,
        call: &'static Call<'static>,
        field: &'static str,
        body: &'a serde_json::Value,
    ) -> BoxFuture<'a, Result<Fetched>> {
        Box::pin(async move {
            let payload = Payload::Json(encode_json(body)?);
            let raw = self.run(call, Query::None, &payload, Expect::Json).await?;
            issued(call, &raw.body, field)
        })
    }
}
