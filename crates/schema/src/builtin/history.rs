//! `ConversationHistoryState`: chat conversations kept across sessions.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{BUILTIN_VERSION, MAX_SAFE_INTEGER, SEMVER_PATTERN};
use crate::Document;

/// Stored conversations and running totals over them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ConversationHistoryState {
    /// Version of this data's schema (a semantic version).
    #[schemars(pattern(SEMVER_PATTERN))]
    pub version: String,
    /// The conversations, oldest first.
    pub conversations: Vec<ConversationEntry>,
    /// Totals over the conversations.
    pub metadata: HistoryMetadata,
}

impl Document for ConversationHistoryState {
    const NAME: &'static str = "ConversationHistoryState";
    const VERSION: &'static str = BUILTIN_VERSION;
}

/// No conversations yet.
impl Default for ConversationHistoryState {
    fn default() -> Self {
        Self {
            version: BUILTIN_VERSION.to_owned(),
            conversations: Vec::new(),
            metadata: HistoryMetadata::default(),
        }
    }
}

/// Totals over the stored conversations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HistoryMetadata {
    /// Number of conversations.
    #[schemars(range(max = MAX_SAFE_INTEGER))]
    pub total_count: u64,
    /// When the history last changed, in milliseconds since the Unix epoch.
    #[schemars(range(max = MAX_SAFE_INTEGER))]
    pub last_updated: u64,
    /// Tokens over all messages.
    #[schemars(range(max = MAX_SAFE_INTEGER))]
    pub total_tokens: u64,
}

/// One conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ConversationEntry {
    /// Conversation id.
    #[schemars(length(min = 1))]
    pub id: String,
    /// Title, once one was given or generated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "String")]
    pub title: Option<String>,
    /// When it started, in milliseconds since the Unix epoch.
    #[schemars(range(max = MAX_SAFE_INTEGER))]
    pub created_at: u64,
    /// When it last changed, in milliseconds since the Unix epoch.
    #[schemars(range(max = MAX_SAFE_INTEGER))]
    pub updated_at: u64,
    /// The messages, in order.
    pub messages: Vec<Message>,
    /// Free-form tags.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Vec<String>")]
    pub tags: Option<Vec<String>>,
}

/// One message of a conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Message {
    /// Message id.
    #[schemars(length(min = 1))]
    pub id: String,
    /// Who wrote it.
    pub role: Role,
    /// Its text.
    pub content: String,
    /// When it was written, in milliseconds since the Unix epoch.
    #[schemars(range(max = MAX_SAFE_INTEGER))]
    pub timestamp: u64,
    /// Tokens it used, when the model reported them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "u64", range(max = MAX_SAFE_INTEGER))]
    pub tokens: Option<u64>,
}

/// Author of a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Instructions to the model.
    System,
    /// The person using the application.
    User,
    /// The model.
    Assistant,
    /// Output of a tool the model called.
    Tool,
}
