#![doc = include_str!("../README.md")]
#![no_std]
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod agent;
pub mod message;
pub mod topic;

pub use agent::{Agent, AgentConfig, AgentError};
