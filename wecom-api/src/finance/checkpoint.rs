//! Where a puller keeps the last `seq` it delivered.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::BoxFuture;

use super::error::FinanceResult;

/// The last `seq` handled, persisted by the user. One puller per corp writes it.
pub trait Checkpoint: Send + Sync {
    /// The last `seq` saved (0 when none: start of the archive).
    fn load(&self) -> BoxFuture<FinanceResult<u64>>;
    /// Saves `seq` after its message was handled.
    fn save(&self, seq: u64) -> BoxFuture<FinanceResult<()>>;
}

/// A checkpoint in memory (tests, or a process that re-reads from a known `seq`).
#[derive(Debug, Default, Clone)]
pub struct MemoryCheckpoint {
    seq: std::sync::Arc<AtomicU64>,
}

impl MemoryCheckpoint {
    /// Starting after `seq`.
    pub fn new(seq: u64) -> Self {
        MemoryCheckpoint {
            seq: std::sync::Arc::new(AtomicU64::new(seq)),
        }
    }

    /// The saved `seq`.
    pub fn get(&self) -> u64 {
        self.seq.load(Ordering::SeqCst)
    }
}

impl Checkpoint for MemoryCheckpoint {
    fn load(&self) -> BoxFuture<FinanceResult<u64>> {
        let seq = self.get();
        Box::pin(async move { Ok(seq) })
    }

    fn save(&self, seq: u64) -> BoxFuture<FinanceResult<()>> {
        self.seq.store(seq, Ordering::SeqCst);
        Box::pin(async { Ok(()) })
    }
}

#[cfg(feature = "redis")]
pub use redis_checkpoint::RedisCheckpoint;

#[cfg(feature = "redis")]
mod redis_checkpoint {
    use redis::aio::ConnectionManager;

    use super::{Checkpoint, FinanceResult};
    use crate::BoxFuture;
    use crate::finance::FinanceError;

    /// A checkpoint in Redis under one key (feature `redis`), shared by the processes that
    /// take over pulling one after another.
    #[derive(Clone)]
    pub struct RedisCheckpoint {
        conn: ConnectionManager,
        key: String,
    }

    impl std::fmt::Debug for RedisCheckpoint {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.debug_struct("RedisCheckpoint")
                .field("key", &self.key)
                .finish_non_exhaustive()
        }
    }

    fn store_error(e: redis::RedisError) -> FinanceError {
        // Redis errors name the command, never the URL's password.
        FinanceError::Checkpoint(e.to_string())
    }

    impl RedisCheckpoint {
        /// A checkpoint at `key` on the Redis at `url` (`redis://[user:password@]host:port[/db]`).
        pub async fn connect(url: &str, key: impl Into<String>) -> FinanceResult<Self> {
            let client = redis::Client::open(url).map_err(|_| {
                FinanceError::Checkpoint(
                    "not a Redis URL (expected redis://[user:password@]host:port[/db])".into(),
                )
            })?;
            let conn = ConnectionManager::new(client).await.map_err(store_error)?;
            Ok(RedisCheckpoint {
                conn,
                key: key.into(),
            })
        }
    }

    impl Checkpoint for RedisCheckpoint {
        fn load(&self) -> BoxFuture<FinanceResult<u64>> {
            let mut conn = self.conn.clone();
            let key = self.key.clone();
            Box::pin(async move {
                let value: Option<String> = redis::cmd("GET")
                    .arg(&key)
                    .query_async(&mut conn)
                    .await
                    .map_err(store_error)?;
                match value {
                    None => Ok(0),
                    Some(text) => text.parse().map_err(|_| {
                        FinanceError::Checkpoint(format!("`{key}` holds {text:?}, not a seq"))
                    }),
                }
            })
        }

        fn save(&self, seq: u64) -> BoxFuture<FinanceResult<()>> {
            let mut conn = self.conn.clone();
            let key = self.key.clone();
            Box::pin(async move {
                redis::cmd("SET")
                    .arg(&key)
                    .arg(seq)
                    .query_async::<()>(&mut conn)
                    .await
                    .map_err(store_error)
            })
        }
    }
}
