//! What the Cinder fake keeps beside the engine: the fields Cinder has and
//! the engine does not model (descriptions, bootable flags, status words an
//! admin reset, retypes in progress, snapshot and backup edits), the
//! attachments of the attachments API, and the user messages.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, SystemTime};

use volume_core::Labels;

/// The most user messages kept; older ones are dropped first.
pub(super) const MAX_MESSAGES: usize = 1000;

/// Cinder's fields of a volume that the engine does not hold.
#[derive(Debug, Clone, Default)]
pub(super) struct VolumeExtra {
    pub(super) tenant: String,
    pub(super) description: Option<String>,
    pub(super) bootable: bool,
    pub(super) user_id: String,
    pub(super) updated_at: Option<SystemTime>,
    /// A status word set by `os-reset_status`, shown until the next change.
    pub(super) status: Option<String>,
    /// The type after a retype (the engine keeps the type of creation).
    pub(super) volume_type: Option<String>,
    /// A retype shows `retyping` until then (engine clock).
    pub(super) retyping_until: Option<Duration>,
    /// The image a volume was created from (its bytes are not simulated).
    pub(super) image_id: Option<String>,
    /// The backup a volume was created from.
    pub(super) backup_id: Option<String>,
    /// Each attached instance's attachment: its id, when, and the device.
    pub(super) attached: HashMap<String, AttachInfo>,
}

/// One attachment of a volume to an instance, as Cinder shows it.
#[derive(Debug, Clone)]
pub(super) struct AttachInfo {
    pub(super) attachment_id: String,
    pub(super) at: SystemTime,
    pub(super) device: String,
}

/// Cinder's fields of a snapshot or backup the engine does not hold or
/// cannot change.
#[derive(Debug, Clone, Default)]
pub(super) struct ArtifactExtra {
    pub(super) tenant: String,
    pub(super) name: Option<String>,
    pub(super) description: Option<String>,
    pub(super) metadata: Option<Labels>,
    pub(super) user_id: String,
    pub(super) updated_at: Option<SystemTime>,
    pub(super) container: Option<String>,
    pub(super) status: Option<String>,
}

/// An attachment of the attachments API (3.27+).
#[derive(Debug, Clone)]
pub(super) struct AttachmentRec {
    pub(super) tenant: String,
    pub(super) volume_id: String,
    pub(super) instance: Option<String>,
    /// `reserved`, `attaching`, `attached`.
    pub(super) status: &'static str,
    pub(super) mode: String,
    pub(super) connector: Option<serde_json::Value>,
    pub(super) attached_at: Option<SystemTime>,
    /// Made by Nova's `os-volume_attachments`: Nova's to remove.
    pub(super) nova: bool,
}

/// One user message (3.3+): why something failed asynchronously.
#[derive(Debug, Clone)]
pub(super) struct MessageRec {
    pub(super) id: String,
    pub(super) tenant: String,
    pub(super) request_id: String,
    pub(super) event_id: &'static str,
    pub(super) user_message: String,
    pub(super) resource_type: &'static str,
    pub(super) resource_uuid: String,
    pub(super) created_at: SystemTime,
    /// Engine time the message becomes visible: when the failure lands.
    pub(super) visible_from: Duration,
}

/// What the Cinder fake keeps beside the engine.
#[derive(Debug, Default)]
pub struct CinderState {
    pub(super) volumes: HashMap<String, VolumeExtra>,
    pub(super) snapshots: HashMap<String, ArtifactExtra>,
    pub(super) backups: HashMap<String, ArtifactExtra>,
    pub(super) attachments: HashMap<String, AttachmentRec>,
    pub(super) messages: VecDeque<MessageRec>,
    pub(super) next_id: u64,
    /// Requests run, to forget what the engine no longer has now and then.
    pub(super) calls: u64,
}

impl CinderState {
    /// A fresh UUID for a record the fake mints itself.
    pub(super) fn mint(&mut self, salt: u64) -> String {
        use crate::engine::made_up::{mix, uuid};
        self.next_id += 1;
        let hi = mix(self.next_id ^ salt);
        uuid(hi, mix(hi ^ self.next_id))
    }

    /// Records a message, dropping the oldest past [`MAX_MESSAGES`].
    pub(super) fn record(&mut self, message: MessageRec) {
        while self.messages.len() >= MAX_MESSAGES {
            self.messages.pop_front();
        }
        self.messages.push_back(message);
    }
}
