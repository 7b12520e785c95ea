//! The one way every Redis-backed store (tokens, rate limits, callback claims, permanent
//! codes) connects: a lazy, reconnecting connection with short bounds, so a Redis that is
//! down costs a call little.

use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};

use crate::error::{Error, Result};

/// Bounds on one Redis exchange.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(2);

/// A connection to the Redis at `url` and its address (for `Debug`; without the password).
/// Fails only if `url` is not a Redis URL; a Redis that cannot be reached now is tried again
/// on each use. The URL may carry a password: it is never put in the error.
pub(crate) fn connect(url: &str) -> Result<(ConnectionManager, String)> {
    let client = redis::Client::open(url).map_err(|_| {
        Error::invalid_argument(
            "redis_url",
            "not a Redis URL (expected redis://[user:password@]host:port[/db])",
        )
    })?;
    let addr = client.get_connection_info().addr().to_string();
    let config = ConnectionManagerConfig::new()
        .set_connection_timeout(Some(CONNECT_TIMEOUT))
        .set_response_timeout(Some(RESPONSE_TIMEOUT))
        .set_number_of_retries(0);
    let conn =
        ConnectionManager::new_lazy_with_config(client, config).map_err(Error::token_store)?;
    Ok((conn, addr))
}
