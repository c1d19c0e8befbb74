//! The device policy, and granting a manifest against it.

use core::fmt;

use crate::guard::Grants;
use crate::manifest::{ABI_VERSION, Manifest};
use crate::scope::{BeyondPolicy, CapabilitySet};

/// What a device allows apps to have. A manifest is granted only if all it
/// asks for lies within the policy.
///
/// The OTA store keeps one policy per trusted signer; firmware without
/// signing uses one policy for every app.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Policy {
    /// The capabilities and scopes an app may be granted.
    pub allow: CapabilitySet,
    /// Most linear memory one app may ask for, in bytes.
    pub max_memory: u32,
    /// Largest CPU budget (fuel between waits) one app may ask for.
    pub max_cpu_budget: u64,
    /// Most distinct IPC topic names one app's `publish` and `subscribe`
    /// lists may hold together: its share of the firmware's topic table
    /// (an `IpcBroker` keeps one entry per distinct name).
    pub max_ipc_topics: u8,
}

impl Policy {
    /// The IPC topics per app a policy allows when it names none: 4 (a
    /// default broker's 16 topics shared by 4 apps with names of their
    /// own).
    pub const DEFAULT_IPC_TOPICS: u8 = 4;

    /// A policy that grants nothing: deny by default.
    pub fn deny_all() -> Policy {
        Policy {
            allow: CapabilitySet::default(),
            max_memory: 0,
            max_cpu_budget: 0,
            max_ipc_topics: Self::DEFAULT_IPC_TOPICS,
        }
    }

    /// A development policy that allows every built-in capability with the
    /// widest scope (see [`CapabilitySet::everything`]), 1 MiB of memory,
    /// a budget of 10⁹ fuel and as many IPC topics as a manifest can list.
    /// For simulators and benches, not for devices in the field.
    pub fn development() -> Policy {
        Policy {
            allow: CapabilitySet::everything(),
            max_memory: 1024 * 1024,
            max_cpu_budget: 1_000_000_000,
            max_ipc_topics: 2 * crate::scope::MAX_IPC_TOPICS as u8,
        }
    }
}

/// Why a manifest was not granted.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum GrantError {
    /// The app was built for an ABI this firmware does not provide.
    UnsupportedAbi {
        /// The ABI in the manifest.
        app: u16,
        /// The ABI this firmware provides.
        device: u16,
    },
    /// A capability or scope beyond the policy; names the first one.
    BeyondPolicy(BeyondPolicy),
    /// More memory than the policy allows per app.
    Memory {
        /// Bytes asked for.
        asked: u32,
        /// Bytes allowed.
        allowed: u32,
    },
    /// A larger CPU budget than the policy allows.
    CpuBudget {
        /// Fuel asked for.
        asked: u64,
        /// Fuel allowed.
        allowed: u64,
    },
    /// More distinct IPC topics than the policy allows per app
    /// ([`Policy::max_ipc_topics`]).
    IpcTopics {
        /// Distinct topic names in the manifest's `ipc` lists.
        asked: u8,
        /// Topics allowed per app.
        allowed: u8,
    },
}

impl fmt::Display for GrantError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GrantError::UnsupportedAbi { app, device } => {
                write!(f, "app needs ABI {app}, this firmware provides ABI {device}")
            }
            GrantError::BeyondPolicy(b) => b.fmt(f),
            GrantError::Memory { asked, allowed } => {
                write!(f, "memory limit {asked} bytes is beyond the device policy ({allowed} bytes)")
            }
            GrantError::CpuBudget { asked, allowed } => {
                write!(f, "cpu budget {asked} is beyond the device policy ({allowed})")
            }
            GrantError::IpcTopics { asked, allowed } => {
                write!(f, "capability ipc: {asked} topics are beyond the device policy's ipc-topics ({allowed})")
            }
        }
    }
}

impl core::error::Error for GrantError {}

/// Grants `manifest` under `policy`: checks the ABI, the resource limits and
/// every capability, and compiles the result for the guard.
///
/// A request is never trimmed to fit: anything beyond the policy is an
/// error naming it, so an app never runs with less than it was written for.
/// The granted capabilities are exactly `manifest.capabilities`.
pub fn grant(manifest: &Manifest, policy: &Policy) -> Result<Grants, GrantError> {
    if manifest.abi != ABI_VERSION {
        return Err(GrantError::UnsupportedAbi { app: manifest.abi, device: ABI_VERSION });
    }
    if manifest.memory_limit > policy.max_memory {
        return Err(GrantError::Memory { asked: manifest.memory_limit, allowed: policy.max_memory });
    }
    if manifest.cpu_budget > policy.max_cpu_budget {
        return Err(GrantError::CpuBudget { asked: manifest.cpu_budget, allowed: policy.max_cpu_budget });
    }
    manifest.capabilities.check_within(&policy.allow).map_err(GrantError::BeyondPolicy)?;
    let topics = manifest.capabilities.ipc.as_ref().map_or(0, |i| i.topic_count());
    if topics > policy.max_ipc_topics {
        return Err(GrantError::IpcTopics { asked: topics, allowed: policy.max_ipc_topics });
    }
    Ok(Grants::compile(&manifest.capabilities))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capability::Capability;
    use crate::manifest::{AppName, Version};

    fn manifest() -> Manifest {
        let mut m = Manifest::new(AppName::try_from("app").unwrap(), Version::new(1, 0, 0));
        m.capabilities.log = true;
        m.memory_limit = 8192;
        m.cpu_budget = 1000;
        m
    }

    #[test]
    fn deny_all_grants_nothing() {
        let err = grant(&manifest(), &Policy::deny_all()).unwrap_err();
        assert!(matches!(err, GrantError::Memory { .. }));
        let mut empty = manifest();
        empty.capabilities.log = false;
        empty.memory_limit = 0;
        empty.cpu_budget = 0;
        assert!(grant(&empty, &Policy::deny_all()).unwrap().modules().is_empty());
    }

    #[test]
    fn development_grants_exactly_what_was_asked() {
        let g = grant(&manifest(), &Policy::development()).unwrap();
        assert!(g.modules().contains(Capability::Log));
        assert!(!g.modules().contains(Capability::Gpio));
    }

    #[test]
    fn an_app_lists_at_most_the_policys_ipc_topics() {
        let mut m = manifest();
        let mut ipc = crate::scope::IpcScope::default();
        for name in ["a", "b", "c", "d", "e"] {
            ipc.publish.push(name.try_into().unwrap()).unwrap();
        }
        // A name in both lists is one topic.
        ipc.subscribe.push("a".try_into().unwrap()).unwrap();
        m.capabilities.ipc = Some(alloc::boxed::Box::new(ipc));
        let mut policy = Policy::development();
        policy.max_ipc_topics = 4;
        let e = grant(&m, &policy).unwrap_err();
        assert_eq!(e, GrantError::IpcTopics { asked: 5, allowed: 4 });
        assert_eq!(e.to_string(), "capability ipc: 5 topics are beyond the device policy's ipc-topics (4)");
        policy.max_ipc_topics = 5;
        assert!(grant(&m, &policy).is_ok());
    }

    #[test]
    fn limits_and_abi() {
        let mut m = manifest();
        m.memory_limit = 2 * 1024 * 1024;
        assert_eq!(
            grant(&m, &Policy::development()).unwrap_err(),
            GrantError::Memory { asked: 2 * 1024 * 1024, allowed: 1024 * 1024 }
        );
        let mut m = manifest();
        m.abi = ABI_VERSION + 1;
        assert!(matches!(grant(&m, &Policy::development()).unwrap_err(), GrantError::UnsupportedAbi { .. }));
    }
}
