//! The topic layout (`docs/fleet.md`): everything under `akira/v1/`, each
//! device under its id in hex, packages under `pkg/`, rollouts' records
//! under `rollout/`.
//!
//! Built without `core::fmt` (firmware paths stay free of formatting).

use akira_ota::command::DeviceId;

/// Every topic starts with this; the `v1` is the layout's version.
pub const PREFIX: &str = "akira/v1/";

/// Longest topic this crate builds.
pub const MAX_TOPIC: usize = 128;

/// A topic name.
pub type Topic = heapless::String<MAX_TOPIC>;

/// A device's own topics, `akira/v1/<device>/<leaf>`. A broker ACL lets a
/// device write only `state` and `up` and read only `down` and `assign`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Leaf {
    /// Retained [`State`](crate::message::State), written by the device;
    /// its last will marks it offline.
    State,
    /// akira-ota session frames to the device (requests), QoS 1.
    Down,
    /// akira-ota session frames from the device (responses), QoS 1.
    Up,
    /// Retained [`Assignment`](crate::message::Assignment), written by the
    /// host running the rollout.
    Assign,
}

impl Leaf {
    /// The leaf's name in the topic.
    pub const fn as_str(self) -> &'static str {
        match self {
            Leaf::State => "state",
            Leaf::Down => "down",
            Leaf::Up => "up",
            Leaf::Assign => "assign",
        }
    }

    /// The leaf named `name`.
    pub fn parse(name: &str) -> Option<Leaf> {
        [Leaf::State, Leaf::Down, Leaf::Up, Leaf::Assign].into_iter().find(|l| l.as_str() == name)
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

fn push_hex(topic: &mut Topic, bytes: &[u8]) {
    for b in bytes {
        // Cannot fail: every topic built here is shorter than MAX_TOPIC.
        let _ = topic.push(HEX[usize::from(b >> 4)] as char);
        let _ = topic.push(HEX[usize::from(b & 15)] as char);
    }
}

fn push_decimal(topic: &mut Topic, mut n: u32) {
    let mut digits = [0u8; 10];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    for &d in &digits[i..] {
        let _ = topic.push(d as char);
    }
}

fn topic(parts: &[&str]) -> Topic {
    let mut t = Topic::new();
    let _ = t.push_str(PREFIX);
    for p in parts {
        let _ = t.push_str(p);
    }
    t
}

/// A device id as topics write it: 16 lowercase hex digits.
pub fn device_name(id: &DeviceId) -> heapless::String<16> {
    let mut t = Topic::new();
    push_hex(&mut t, id);
    let mut name = heapless::String::new();
    let _ = name.push_str(&t);
    name
}

/// The device id in a topic's device part (16 hex digits).
pub fn parse_device_name(name: &str) -> Option<DeviceId> {
    let bytes = name.as_bytes();
    if bytes.len() != 16 {
        return None;
    }
    let digit = |c: u8| HEX.iter().position(|&h| h == c).map(|v| v as u8);
    let mut id = [0u8; 8];
    for (i, pair) in bytes.chunks_exact(2).enumerate() {
        id[i] = digit(pair[0])? << 4 | digit(pair[1])?;
    }
    Some(id)
}

/// `akira/v1/<device>/<leaf>`.
pub fn device(id: &DeviceId, leaf: Leaf) -> Topic {
    let mut t = topic(&[]);
    push_hex(&mut t, id);
    let _ = t.push('/');
    let _ = t.push_str(leaf.as_str());
    t
}

/// Splits `akira/v1/<device>/<leaf>` (for hosts watching many devices).
pub fn parse_device(topic: &str) -> Option<(DeviceId, Leaf)> {
    let rest = topic.strip_prefix(PREFIX)?;
    let (device, leaf) = rest.split_once('/')?;
    Some((parse_device_name(device)?, Leaf::parse(leaf)?))
}

/// `akira/v1/pkg/<package id in hex>/<n>`: chunk `n` of a package in the
/// broker, retained.
pub fn chunk(package: &[u8; 32], n: u32) -> Topic {
    let mut t = topic(&["pkg/"]);
    push_hex(&mut t, package);
    let _ = t.push('/');
    push_decimal(&mut t, n);
    t
}

/// Which chunk of `package` a topic names, if it is one.
pub fn parse_chunk(topic: &str, package: &[u8; 32]) -> Option<u32> {
    let prefix = chunk(package, 0);
    let stem = prefix.strip_suffix('0')?;
    let n = topic.strip_prefix(stem)?;
    if n.is_empty() || n.len() > 10 || (n.len() > 1 && n.starts_with('0')) {
        return None;
    }
    n.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_topics_round_trip() {
        let id = [0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef];
        let t = device(&id, Leaf::State);
        assert_eq!(t.as_str(), "akira/v1/0123456789abcdef/state");
        assert_eq!(parse_device(&t), Some((id, Leaf::State)));
        assert_eq!(parse_device("akira/v1/0123456789abcdeg/state"), None);
        assert_eq!(parse_device("akira/v1/pkg/00/0"), None);
    }

    #[test]
    fn chunk_topics_round_trip() {
        let id = [0xa5; 32];
        for n in [0, 7, 10, 4_294_967_295] {
            assert_eq!(parse_chunk(&chunk(&id, n), &id), Some(n));
        }
        assert!(chunk(&id, 12).ends_with("/12"));
        let other = [0x5a; 32];
        assert_eq!(parse_chunk(&chunk(&other, 1), &id), None);
        let mut padded = chunk(&id, 0);
        padded.push('1').unwrap();
        assert_eq!(parse_chunk(&padded, &id), None, "01 is not a chunk number");
    }
}
