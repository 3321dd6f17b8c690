//! The tonic service `eventbus.v1.PubSub`: headers first, then the RPC.
//!
//! A Subscribe call answers nothing until its first `FetchRequest` is in, as the real service
//! does: refusals of that first request (bad headers, unknown topic, bad replay id, no credit,
//! injected faults) come back as the call's status before any response. Later problems end
//! the open stream with a status instead.

use std::{pin::Pin, sync::Arc};

use bridge_proto::eventbus::v1::{
    FetchRequest, FetchResponse, ManagedFetchRequest, ManagedFetchResponse, PublishRequest,
    PublishResponse, ReplayPreset, SchemaInfo, SchemaRequest, TopicInfo, TopicRequest,
    pub_sub_server::PubSub,
};
use tokio::sync::mpsc;
use tokio_stream::{Stream, wrappers::ReceiverStream};
use tonic::{Request, Response, Status, Streaming};

use super::{
    ORDER_CHANNEL, auth,
    bus::ReplayIdError,
    error::PubSubError,
    publish,
    state::Shared,
    stream::{self, Responses},
};

/// Responses a stream may queue before the sender waits for the client to read.
const STREAM_BUFFER: usize = 16;

/// A stream of responses the generated server can send.
type BoxStream<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send + 'static>>;

/// The service; every clone of the emulator handle shares its state.
#[derive(Debug)]
pub(crate) struct PubSubService {
    shared: Arc<Shared>,
}

impl PubSubService {
    /// A service over `shared`.
    pub(crate) fn new(shared: Arc<Shared>) -> Self {
        Self { shared }
    }

    fn authenticate<T>(&self, request: &Request<T>) -> Result<(), Status> {
        auth::check(request.metadata(), &self.shared.salesforce).map_err(PubSubError::into_status)
    }

    /// Refuses a blank or unknown topic.
    fn check_topic(&self, topic: &str) -> Result<(), PubSubError> {
        if topic.is_empty() {
            return Err(PubSubError::TopicBlank);
        }
        if topic != ORDER_CHANNEL {
            let org_id = self.shared.salesforce.org_id();
            return Err(PubSubError::TopicNotFound {
                tenant: format!("CORE/prod/{}", org_id.get(..15).unwrap_or(&org_id)),
                topic: topic.to_owned(),
            });
        }
        Ok(())
    }

    /// Where a new stream starts, from the first request's preset.
    fn start_cursor(&self, first: &FetchRequest) -> Result<u64, PubSubError> {
        let state = self.shared.lock();
        match ReplayPreset::try_from(first.replay_preset).unwrap_or(ReplayPreset::Latest) {
            ReplayPreset::Latest => Ok(state.log.tip()),
            ReplayPreset::Earliest => Ok(0),
            ReplayPreset::Custom if first.replay_id.is_empty() => Err(PubSubError::ReplayIdMissing),
            ReplayPreset::Custom => {
                let now = self.shared.now(&state);
                state
                    .log
                    .resolve(&first.replay_id, now)
                    .map_err(|_: ReplayIdError| PubSubError::ReplayIdCorrupted)
            }
        }
    }

    /// Reads the first request, or learns why there is none.
    async fn first_request(
        &self,
        inbound: &mut Streaming<FetchRequest>,
    ) -> Result<FetchRequest, Status> {
        let mut endings = self.shared.endings.subscribe();
        let deadline = tokio::time::sleep(self.shared.options.idle_close);
        tokio::select! {
            message = inbound.message() => match message {
                Ok(Some(first)) => Ok(first),
                Ok(None) => Err(PubSubError::NoFirstRequest.into_status()),
                Err(status) => Err(status),
            },
            ending = endings.recv() => Err(ending.unwrap_or(PubSubError::ShuttingDown).into_status()),
            () = deadline => Err(PubSubError::IdleClosed.into_status()),
        }
    }

    /// Every check of a first request, in the order the service applies them.
    fn accept(
        &self,
        metadata: &tonic::metadata::MetadataMap,
        first: &FetchRequest,
    ) -> Result<u64, PubSubError> {
        if let Some(rejection) = self.shared.lock().rejections.pop_front() {
            return Err(rejection);
        }
        auth::check(metadata, &self.shared.salesforce)?;
        self.check_topic(&first.topic_name)?;
        if first.num_requested <= 0 {
            return Err(PubSubError::RequestedEventsInvalid);
        }
        self.start_cursor(first)
    }
}

#[tonic::async_trait]
impl PubSub for PubSubService {
    type SubscribeStream = ReceiverStream<Result<FetchResponse, Status>>;
    type PublishStreamStream = BoxStream<PublishResponse>;
    type ManagedSubscribeStream = BoxStream<ManagedFetchResponse>;

    async fn subscribe(
        &self,
        request: Request<Streaming<FetchRequest>>,
    ) -> Result<Response<Self::SubscribeStream>, Status> {
        let number = stream::number_call(&self.shared);
        let (metadata, _, mut inbound) = request.into_parts();
        let first = self.first_request(&mut inbound).await?;
        stream::record(&mut self.shared.lock(), number, &first);

        let cursor = self
            .accept(&metadata, &first)
            .map_err(PubSubError::into_status)?;
        let subscription = stream::open(&self.shared, &first, cursor);
        let (sender, receiver): (Responses, _) = mpsc::channel(STREAM_BUFFER);
        tokio::spawn(stream::run(
            self.shared.clone(),
            number,
            subscription,
            inbound,
            sender,
        ));
        Ok(Response::new(ReceiverStream::new(receiver)))
    }

    async fn get_schema(
        &self,
        request: Request<SchemaRequest>,
    ) -> Result<Response<SchemaInfo>, Status> {
        self.authenticate(&request)?;
        let schema_id = request.into_inner().schema_id;
        if schema_id.trim().is_empty() {
            return Err(PubSubError::SchemaBlank.into_status());
        }
        let json = self
            .shared
            .lock()
            .schemas
            .json(&schema_id)
            .map(str::to_owned);
        match json {
            Some(schema_json) => Ok(Response::new(SchemaInfo {
                schema_json,
                schema_id,
                rpc_id: uuid::Uuid::new_v4().to_string(),
            })),
            None => Err(PubSubError::SchemaNotFound(schema_id).into_status()),
        }
    }

    async fn get_topic(
        &self,
        request: Request<TopicRequest>,
    ) -> Result<Response<TopicInfo>, Status> {
        self.authenticate(&request)?;
        let topic_name = request.into_inner().topic_name;
        self.check_topic(&topic_name)
            .map_err(PubSubError::into_status)?;
        Ok(Response::new(TopicInfo {
            topic_name,
            tenant_guid: self.shared.salesforce.org_id(),
            can_publish: true,
            can_subscribe: true,
            schema_id: self.shared.lock().schemas.order_schema_id().to_owned(),
            rpc_id: uuid::Uuid::new_v4().to_string(),
        }))
    }

    async fn publish(
        &self,
        request: Request<PublishRequest>,
    ) -> Result<Response<PublishResponse>, Status> {
        self.authenticate(&request)?;
        let request = request.into_inner();
        self.check_topic(&request.topic_name)
            .and_then(|()| publish::publish(&self.shared, request))
            .map(Response::new)
            .map_err(PubSubError::into_status)
    }

    async fn publish_stream(
        &self,
        request: Request<Streaming<PublishRequest>>,
    ) -> Result<Response<Self::PublishStreamStream>, Status> {
        self.authenticate(&request)?;
        Err(PubSubError::Unimplemented("PublishStream").into_status())
    }

    async fn managed_subscribe(
        &self,
        request: Request<Streaming<ManagedFetchRequest>>,
    ) -> Result<Response<Self::ManagedSubscribeStream>, Status> {
        self.authenticate(&request)?;
        Err(PubSubError::Unimplemented("ManagedSubscribe").into_status())
    }
}
