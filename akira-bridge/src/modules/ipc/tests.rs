use super::*;
use crate::Bridge;
use crate::testing::{Recorder, code, state};
use akira_caps::CapabilitySet;
use akira_caps::scope::{IpcScope, MAX_IPC_TOPICS, Topic};
use core::task::Waker;

fn topics(names: &[&str]) -> heapless::Vec<Topic, MAX_IPC_TOPICS> {
    names.iter().map(|n| Topic::try_from(*n).unwrap()).collect()
}

fn scope(publish: &[&str], subscribe: &[&str]) -> IpcScope {
    IpcScope { publish: topics(publish), subscribe: topics(subscribe) }
}

/// A fresh broker with 2-message queues of 8 bytes, for one test.
fn broker() -> &'static IpcBroker<3, 4, 2, 8> {
    Box::leak(Box::new(IpcBroker::new()))
}

#[test]
fn names_meet_on_one_topic_whatever_their_index_in_each_list() {
    let b = broker();
    let sensor = b.attach(1, &scope(&["log", "temp"], &[])).unwrap();
    let ui = b.attach(2, &scope(&[], &["alarm", "temp"])).unwrap();
    assert_ne!(sensor.slot, ui.slot);
    let temp = sensor.publish[1];
    assert_eq!(b.publish(temp, b"21.5").unwrap(), 0, "nobody subscribed yet");
    b.set_subscribed(ui.slot, 1, true).unwrap();
    assert_eq!(b.publish(temp, b"21.5").unwrap(), 1);
    assert_eq!(b.publish(sensor.publish[0], b"x").unwrap(), 0, "another topic");
    let mut buf = [0u8; 8];
    assert_eq!(b.receive(ui.slot, &mut buf).unwrap(), Some(Received { topic: 1, len: 4 }), "ui's own index");
    assert_eq!(&buf[..4], b"21.5");
    assert_eq!(b.receive(ui.slot, &mut buf).unwrap(), None);
    b.set_subscribed(ui.slot, 1, false).unwrap();
    assert_eq!(b.publish(temp, b"22").unwrap(), 0, "unsubscribed");
}

#[test]
fn a_full_mailbox_drops_its_oldest_message_and_counts_it_for_its_app_alone() {
    let b = broker();
    let p = b.attach(1, &scope(&["t"], &[])).unwrap();
    let fast = b.attach(2, &scope(&[], &["t"])).unwrap();
    let slow = b.attach(3, &scope(&[], &["t"])).unwrap();
    b.set_subscribed(fast.slot, 0, true).unwrap();
    b.set_subscribed(slow.slot, 0, true).unwrap();
    assert_eq!(b.publish(p.publish[0], b"1"), Ok(2));
    let mut buf = [0u8; 8];
    b.receive(fast.slot, &mut buf).unwrap();
    assert_eq!(b.publish(p.publish[0], b"2"), Ok(2));
    // Slow holds 2 of 2: it loses "1", everyone gets "3".
    assert_eq!(b.publish(p.publish[0], b"3"), Ok(2), "a slow subscriber never refuses a publish");
    assert_eq!((b.pending(fast.slot), b.pending(slow.slot)), (2, 2));
    assert_eq!((b.take_lost(fast.slot), b.take_lost(slow.slot)), (0, 1), "the loss is slow's alone");
    assert_eq!(b.take_lost(slow.slot), 0, "taken once");
    let got = |slot| {
        let mut buf = [0u8; 8];
        b.receive(slot, &mut buf).unwrap().map(|r| buf[..r.len].to_vec())
    };
    assert_eq!((got(slow.slot), got(slow.slot)), (Some(b"2".to_vec()), Some(b"3".to_vec())), "the newest kept");
    assert_eq!((got(fast.slot), got(fast.slot)), (Some(b"2".to_vec()), Some(b"3".to_vec())));
}

#[test]
fn sizes_are_bounded_and_a_short_buffer_keeps_the_message() {
    let b = broker();
    let p = b.attach(1, &scope(&["t"], &["t"])).unwrap();
    b.set_subscribed(p.slot, 0, true).unwrap();
    assert_eq!(b.publish(p.publish[0], &[0; 9]), Err(Errno::TooLarge));
    assert_eq!(b.publish(p.publish[0], b"12345678"), Ok(1), "an app may receive its own topic");
    let mut short = [0u8; 4];
    assert_eq!(b.receive(p.slot, &mut short), Err(Errno::TooLarge));
    assert_eq!(b.pending(p.slot), 1);
    let mut buf = [0u8; 8];
    assert_eq!(b.receive(p.slot, &mut buf).unwrap().unwrap().len, 8);
}

#[test]
fn a_restarted_app_gets_its_mailbox_back_empty_and_slots_run_out() {
    let b = broker();
    let first = b.attach(7, &scope(&["t"], &["t"])).unwrap();
    b.set_subscribed(first.slot, 0, true).unwrap();
    b.publish(first.publish[0], b"old").unwrap();
    let again = b.attach(7, &scope(&["t"], &["t"])).unwrap();
    assert_eq!(again.slot, first.slot);
    assert_eq!(b.pending(again.slot), 0);
    assert_eq!(b.publish(again.publish[0], b"new"), Ok(0), "subscriptions start afresh");
    b.attach(8, &scope(&[], &[])).unwrap();
    b.attach(9, &scope(&[], &[])).unwrap();
    assert_eq!(b.attach(10, &scope(&[], &[])), Err(AttachError::NoAppSlot));
    b.detach(8);
    assert_eq!(b.attach(10, &scope(&["a", "b", "c", "d"], &["t"])), Err(AttachError::NoTopicSlot), "4 at most");
    b.attach(10, &scope(&["a", "b", "c"], &["a", "t"])).unwrap();
}

#[test]
fn topics_no_app_lists_any_more_are_given_back_to_the_others() {
    let b = broker();
    // One app's names fill the 4-topic table (a policy's ipc-topics keeps
    // each app to its share; here nothing does).
    let first = b.attach(1, &scope(&["a", "b"], &["c", "d"])).unwrap();
    assert_eq!(b.attach(2, &scope(&["e"], &[])), Err(AttachError::NoTopicSlot));
    let shared = b.attach(3, &scope(&[], &["a"])).unwrap();
    b.set_subscribed(shared.slot, 0, true).unwrap();
    // Removed, the app gives back the names no other app lists.
    b.detach(1);
    let second = b.attach(2, &scope(&["e", "f", "g"], &[])).unwrap();
    assert_eq!(b.attach(4, &scope(&["h"], &[])), Err(AttachError::NoTopicSlot), "a is still app 3's");
    // A new version of app 2 with other names gives its old ones back.
    b.attach(2, &scope(&["x"], &[])).unwrap();
    b.attach(4, &scope(&["h", "i"], &[])).unwrap();
    // A name still listed keeps its subscribers and its id.
    let again = b.attach(5, &scope(&["a"], &[]));
    assert_eq!(again, Err(AttachError::NoAppSlot), "three mailboxes");
    b.detach(4);
    let publisher = b.attach(5, &scope(&["a"], &[])).unwrap();
    assert_eq!(b.publish(publisher.publish[0], b"hi"), Ok(1), "app 3 still subscribed to a");
    let _ = (first, second);
}

/// Module-level tests: an app granted `publish = ["ping"]`,
/// `subscribe = ["pong"]` in mailbox `at`.
fn app(b: &'static IpcBroker<3, 4, 2, 8>) -> (AppState<Recorder>, Attachment) {
    let s = scope(&["ping"], &["pong"]);
    let at = b.attach(1, &s).unwrap();
    (state(Recorder::default(), &CapabilitySet { ipc: Some(Box::new(s)), ..Default::default() }), at)
}

const M: ModuleIndex = ModuleIndex(0);

#[test]
fn the_guard_checks_topic_indices_and_bad_buffers_fail_before_anything_is_sent() {
    let b = broker();
    let (mut s, at) = app(b);
    let peer = b.attach(2, &scope(&["pong"], &["ping"])).unwrap();
    b.set_subscribed(peer.slot, 0, true).unwrap();
    let mut backing = *b"ping....";
    let mut mem = GuestMemory::new(&mut backing);
    assert_eq!(code(publish(b, &at, &mem, &mut s, 1, 0, 4)), Errno::Denied.code(), "only one publish topic");
    assert_eq!(code(publish(b, &at, &mem, &mut s, 31, 0, 4)), Errno::Denied.code());
    assert_eq!(code(subscribe(b, at.slot, &mut s, 1, true)), Errno::Denied.code(), "one subscribe topic");
    assert_eq!(s.guard().denials(Capability::Ipc), 3);
    assert_eq!(code(publish(b, &at, &mem, &mut s, 0, 6, 4)), Errno::Fault.code());
    assert_eq!(code(publish(b, &at, &mem, &mut s, 0, u32::MAX, 1)), Errno::Fault.code());
    assert_eq!(code(publish(b, &at, &mem, &mut s, 0, 0, 9)), Errno::TooLarge.code());
    assert_eq!(b.pending(peer.slot), 0, "nothing was sent");
    assert_eq!(code(publish(b, &at, &mem, &mut s, 0, 0, 4)), 1);
    assert_eq!(code(receive(b, M, at.slot, &mut mem, &mut s, 6, 4, -1)), Errno::Fault.code());
    assert!(s.take_wait().is_none());
    assert_eq!(s.board().events.len(), 4, "three denials and the publish");
    assert!(s.board().events[3].contains("Ipc { topic: 0, published: true, bytes: [112, 105, 110, 103]"));
}

#[test]
fn receive_suspends_until_a_message_arrives_then_copies_it_into_the_app() {
    let b = broker();
    let (mut s, at) = app(b);
    let peer = b.attach(2, &scope(&["pong"], &["ping"])).unwrap();
    assert_eq!(code(subscribe(b, at.slot, &mut s, 0, true)), 0);
    s.board_mut().now = 1_000;
    let mut backing = [0u8; 16];
    let mut mem = GuestMemory::new(&mut backing);
    assert_eq!(code(receive(b, M, at.slot, &mut mem, &mut s, 4, 8, 0)), Errno::TimedOut.code(), "0 polls");
    let Err(Refusal::Trap(_)) = receive(b, M, at.slot, &mut mem, &mut s, 4, 8, 500) else { panic!("not suspended") };
    let wait = s.take_wait().unwrap();
    assert_eq!(wait.until, Instant::from_micros(1_500));
    let bridge: Bridge<Recorder> = Bridge::new().with(IpcModule::new(b)).unwrap();
    let before = bridge.activity();
    assert_eq!(bridge.poll_wait(&mut mem, &mut s, &wait, Instant::from_micros(1_200)), None);
    assert_eq!(b.publish(peer.publish[0], b"pong"), Ok(1));
    assert_ne!(bridge.activity(), before, "the scheduler sees the delivery");
    assert_eq!(bridge.poll_wait(&mut mem, &mut s, &wait, Instant::from_micros(1_300)), Some(4));
    assert_eq!(mem.bytes(4, 4).unwrap(), b"pong", "copied into the buffer the app passed");
    // Nothing arrives: the deadline ends the wait.
    let Err(Refusal::Trap(_)) = receive(b, M, at.slot, &mut mem, &mut s, 4, 8, 500) else { panic!() };
    let wait = s.take_wait().unwrap();
    assert_eq!(bridge.poll_wait(&mut mem, &mut s, &wait, Instant::from_micros(1_500)), Some(Errno::TimedOut.code()));
}

#[test]
fn receive_returns_the_topic_index_and_length() {
    assert_eq!(result(Received { topic: 3, len: 64 }), 3 << 16 | 64);
    assert_eq!(unpack(pack(31, u32::MAX, 0x00ff_ffff)), (31, u32::MAX, 0x00ff_ffff));
}

#[test]
fn changed_wakes_on_delivery() {
    use core::pin::pin;
    use core::task::Context;
    use std::future::Future;
    let b = broker();
    let p = b.attach(1, &scope(&["t"], &["t"])).unwrap();
    b.set_subscribed(p.slot, 0, true).unwrap();
    let mut cx = Context::from_waker(Waker::noop());
    let mut changed = pin!(b.changed());
    assert!(changed.as_mut().poll(&mut cx).is_pending());
    b.publish(p.publish[0], b"x").unwrap();
    assert!(changed.as_mut().poll(&mut cx).is_ready());
}
