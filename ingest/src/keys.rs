//! The Redis keys ingest keeps, one set per channel, as documented for operators.

/// The keys of one channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelKeys {
    /// `sf:pe:replay:<channel>`: the cursor, the raw replay id bytes exactly as received.
    pub cursor: String,
    /// `sf:pe:replay:<channel>:meta`: when and by which lease epoch the cursor was written, and
    /// the lease epoch counter.
    pub meta: String,
    /// `sf:pe:leader:<channel>`: `instance:epoch` of the active subscriber, with a TTL.
    pub leader: String,
    /// `sf:pe:dlq:<channel>`: the dead-letter stream.
    pub dead_letters: String,
}

impl ChannelKeys {
    /// The keys of `channel`, e.g. `/event/OrderProvisionRequested__e`.
    pub fn new(channel: &str) -> Self {
        Self {
            cursor: format!("sf:pe:replay:{channel}"),
            meta: format!("sf:pe:replay:{channel}:meta"),
            leader: format!("sf:pe:leader:{channel}"),
            dead_letters: format!("sf:pe:dlq:{channel}"),
        }
    }
}
