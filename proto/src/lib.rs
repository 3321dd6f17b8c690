//! Generated gRPC code for the bridge's two APIs and for Salesforce's Pub/Sub API.
//!
//! The `.proto` files beside this crate are the contracts; nothing here is edited by hand. Each
//! package is reached through one module, and [`FILE_DESCRIPTOR_SET`] carries every file's
//! descriptor so the services can offer server reflection (grpcurl needs no proto files).

#![forbid(unsafe_code)]

/// `fulfillment.v1`: the Fulfill API.
pub mod fulfillment {
    /// Version 1 of the package.
    pub mod v1 {
        #![allow(missing_docs, unreachable_pub, clippy::all)]
        tonic::include_proto!("fulfillment.v1");
    }
}

/// `ingest.v1`: ingest's admin API.
pub mod ingest {
    /// Version 1 of the package.
    pub mod v1 {
        #![allow(missing_docs, unreachable_pub, clippy::all)]
        tonic::include_proto!("ingest.v1");
    }
}

/// `eventbus.v1`: Salesforce's Pub/Sub API, wire-compatible with the real service.
pub mod eventbus {
    /// Version 1 of the package.
    pub mod v1 {
        #![allow(missing_docs, unreachable_pub, clippy::all)]
        tonic::include_proto!("eventbus.v1");
    }
}

/// The encoded `FileDescriptorSet` of every proto in this crate, with their imports.
pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("bridge_descriptor");
