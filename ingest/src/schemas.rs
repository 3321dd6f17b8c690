//! Writer schemas by id: fetched with `GetSchema` on first sight and kept, since a schema id
//! names one schema for ever (it is the hash of the schema's canonical form).

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use apache_avro::Schema;

use crate::{
    event::{PoisonReason, parse_schema},
    pubsub::{PubSub, PubSubError},
};

/// The answer for a schema id.
pub enum SchemaLookup {
    /// The schema.
    Found(Arc<Schema>),
    /// Salesforce says there is no such schema, or the schema is unusable: the event is poison.
    Poison(PoisonReason),
    /// Salesforce could not be asked now; try again later.
    Unavailable(PubSubError),
}

/// Schemas seen so far.
#[derive(Default, Clone)]
pub struct SchemaCache {
    known: Arc<Mutex<HashMap<String, Arc<Schema>>>>,
}

impl SchemaCache {
    /// An empty cache.
    pub fn new() -> Self {
        Self::default()
    }

    /// The schema `schema_id`, from the cache or from Salesforce.
    pub async fn get(&self, pubsub: &PubSub, schema_id: &str) -> SchemaLookup {
        if schema_id.trim().is_empty() {
            return SchemaLookup::Poison(PoisonReason::UnknownSchema {
                schema_id: String::new(),
                detail: "the event names no schema".to_owned(),
            });
        }
        if let Some(schema) = self.lock().get(schema_id).cloned() {
            return SchemaLookup::Found(schema);
        }
        let session = match pubsub.session().await {
            Ok(session) => session,
            Err(err) => return SchemaLookup::Unavailable(err),
        };
        let mut answer = pubsub.schema(&session, schema_id).await;
        if answer.as_ref().err().and_then(PubSubError::code) == Some(tonic::Code::Unauthenticated) {
            // The session died while the stream stayed healthy: authenticate again (single
            // flight) and ask once more.
            match pubsub.auth().reauthenticate(&session).await {
                Ok(fresh) => answer = pubsub.schema(&fresh, schema_id).await,
                Err(err) => return SchemaLookup::Unavailable(err.into()),
            }
        }
        match answer {
            Ok(json) => match parse_schema(schema_id, &json) {
                Ok(schema) => {
                    let schema = Arc::new(schema);
                    self.lock().insert(schema_id.to_owned(), schema.clone());
                    SchemaLookup::Found(schema)
                }
                Err(reason) => SchemaLookup::Poison(reason),
            },
            Err(err)
                if matches!(
                    err.code(),
                    Some(tonic::Code::NotFound | tonic::Code::InvalidArgument)
                ) =>
            {
                SchemaLookup::Poison(PoisonReason::UnknownSchema {
                    schema_id: schema_id.to_owned(),
                    detail: err.to_string(),
                })
            }
            Err(err) => SchemaLookup::Unavailable(err),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<Schema>>> {
        self.known
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}
