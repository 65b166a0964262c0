//! What keeps one client from taking the whole service: limits on the connections themselves, applied
//! by [`super::serve`].

use std::time::Duration;

/// How long a client may take to send a request's head (line and headers).
pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// How long an answer may wait for a client that takes none of it.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// Most client connections open at once.
pub const DEFAULT_MAX_CLIENT_CONNECTIONS: usize = 1024;

/// How much of the service a client may take.
#[derive(Debug, Clone)]
pub struct Limits {
    /// A connection whose request head has not fully arrived this long after the server began to wait
    /// for it is closed. hyper starts that wait when a connection opens and again after each answer,
    /// so this is also how long an idle kept-alive connection stays open.
    pub header_read_timeout: Duration,
    /// A connection whose client has taken no bytes of an answer for this long is closed.
    pub idle_timeout: Duration,
    /// Most client connections open at once; further ones wait in the listen queue until one closes.
    pub max_client_connections: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            header_read_timeout: DEFAULT_HEADER_READ_TIMEOUT,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            max_client_connections: DEFAULT_MAX_CLIENT_CONNECTIONS,
        }
    }
}
