use super::*;
use crate::testing::{Recorder, code, recorder_board, state};
use crate::{Bridge, Refusal};
use akira_caps::CapabilitySet;
use akira_caps::sets::IdSet;

/// A HID stack that queues `room` reports and keeps what was sent.
struct Board1 {
    rec: Recorder,
    room: usize,
    sent: Vec<Vec<u8>>,
    events: EventQueue<2>,
}
recorder_board!(Board1);

impl Hid for Board1 {
    fn room(&mut self, kind: u32) -> Result<usize, Errno> {
        if kind == RAW { Err(Errno::NoSuchResource) } else { Ok(self.room) }
    }
    fn send(&mut self, report: &Report<'_>) -> Result<(), Errno> {
        assert!(self.room > 0, "sent without room");
        self.room -= 1;
        let mut buf = [0u8; MAX_RAW];
        self.sent.push(report.encode(&mut buf).to_vec());
        Ok(())
    }
    fn next_event(&mut self) -> Option<Event> {
        self.events.pop()
    }
}

fn app(kinds: &[u32]) -> AppState<Board1> {
    let caps = CapabilitySet { hid: Some(kinds.iter().copied().collect::<IdSet>()), ..Default::default() };
    state(Board1 { rec: Recorder::default(), room: 64, sent: Vec::new(), events: EventQueue::new() }, &caps)
}

const M: ModuleIndex = ModuleIndex(0);

fn bridge() -> Bridge<Board1> {
    Bridge::new().with(HidModule).unwrap()
}

#[test]
fn reports_have_the_boot_protocol_layouts() {
    let mut s = app(&[KEYBOARD, MOUSE, GAMEPAD, CONSUMER]);
    let mut backing = [0u8; 16];
    backing[..2].copy_from_slice(&[0x04, 0x05]);
    let mut mem = GuestMemory::new(&mut backing);
    assert_eq!(code(report(&mut mem, &mut s, M, keyboard_op(0x02, 0, 2))), 0);
    assert_eq!(code(report(&mut mem, &mut s, M, mouse_op(1, 5, -3i32 as u32, 1))), 0);
    assert_eq!(code(report(&mut mem, &mut s, M, gamepad_op(0x0102, 127, -127i32 as u32, 0, 1))), 0);
    assert_eq!(code(report(&mut mem, &mut s, M, consumer_op(0xe9))), 0);
    assert_eq!(
        s.board().sent,
        [vec![0x02, 0, 0x04, 0x05, 0, 0, 0, 0], vec![1, 5, 0xfd, 1], vec![0x02, 0x01, 127, 0x81, 0, 1], vec![0xe9, 0],]
    );
    assert_eq!(s.board().rec.events[0], "HidReport { kind: 0, bytes: [2, 0, 4, 5, 0, 0, 0, 0] }");
    // Out of range arguments.
    assert_eq!(code(report(&mut mem, &mut s, M, keyboard_op(0x100, 0, 0))), Errno::Invalid.code());
    assert_eq!(code(report(&mut mem, &mut s, M, keyboard_op(0, 0, 7))), Errno::TooLarge.code());
    assert_eq!(code(report(&mut mem, &mut s, M, mouse_op(0, 128, 0, 0))), Errno::Invalid.code());
    assert_eq!(code(report(&mut mem, &mut s, M, mouse_op(0, -128i32 as u32, 0, 0))), Errno::Invalid.code());
    assert_eq!(code(report(&mut mem, &mut s, M, consumer_op(0x1_0000))), Errno::Invalid.code());
    assert_eq!(s.board().sent.len(), 4, "nothing sent for refused calls");
}

#[test]
fn type_text_presses_and_releases_each_character() {
    let mut s = app(&[KEYBOARD]);
    let mut backing = [0u8; 16];
    backing[..4].copy_from_slice(b"Hi!\n");
    let mut mem = GuestMemory::new(&mut backing);
    assert_eq!(code(report(&mut mem, &mut s, M, type_op(0, 4))), 4);
    let up = vec![0u8; 8];
    assert_eq!(
        s.board().sent,
        [
            vec![0x02, 0, 0x0b, 0, 0, 0, 0, 0],
            up.clone(),
            vec![0, 0, 0x0c, 0, 0, 0, 0, 0],
            up.clone(),
            vec![0x02, 0, 0x1e, 0, 0, 0, 0, 0],
            up.clone(),
            vec![0, 0, 0x28, 0, 0, 0, 0, 0],
            up,
        ]
    );
    // A byte without a key refuses the whole text before any is typed.
    mem.write(8, b"ok\x01").unwrap();
    assert_eq!(code(report(&mut mem, &mut s, M, type_op(8, 3))), Errno::Invalid.code());
    assert_eq!(code(report(&mut mem, &mut s, M, type_op(14, 4))), Errno::Fault.code());
    assert_eq!(code(report(&mut mem, &mut s, M, type_op(0, MAX_TEXT + 1))), Errno::TooLarge.code());
    assert_eq!(code(report(&mut mem, &mut s, M, type_op(0, 0))), 0);
    assert_eq!(s.board().sent.len(), 8);
    // Room for three reports: one whole character, the rest later.
    s.board_mut().room = 3;
    assert_eq!(code(report(&mut mem, &mut s, M, type_op(0, 2))), 1, "only whole characters");
    assert_eq!(s.board().room, 1);
}

#[test]
fn the_guard_checks_the_device_kind() {
    let mut s = app(&[KEYBOARD]);
    let mut backing = [0u8; 16];
    let mut mem = GuestMemory::new(&mut backing);
    assert_eq!(code(report(&mut mem, &mut s, M, mouse_op(1, 0, 0, 0))), Errno::Denied.code());
    assert_eq!(code(report(&mut mem, &mut s, M, gamepad_op(1, 0, 0, 0, 0))), Errno::Denied.code());
    assert_eq!(code(report(&mut mem, &mut s, M, consumer_op(0xe9))), Errno::Denied.code());
    assert_eq!(code(report(&mut mem, &mut s, M, raw_op(0, 4))), Errno::Denied.code());
    assert_eq!(s.guard().denials(Capability::Hid), 4);
    assert!(s.board().sent.is_empty());
    // Granted, but the board has no raw device; bad buffers.
    let mut s = app(&[RAW, KEYBOARD]);
    assert_eq!(code(report(&mut mem, &mut s, M, raw_op(0, 4))), Errno::NoSuchResource.code());
    assert_eq!(code(report(&mut mem, &mut s, M, raw_op(0, 65))), Errno::TooLarge.code());
    assert_eq!(code(report(&mut mem, &mut s, M, raw_op(14, 4))), Errno::Fault.code());
    assert_eq!(code(report(&mut mem, &mut s, M, keyboard_op(0, 12, 6))), Errno::Fault.code());
}

#[test]
fn a_full_stack_suspends_the_report_until_there_is_room() {
    let mut s = app(&[MOUSE, KEYBOARD]);
    s.board_mut().room = 0;
    s.board_mut().rec.now = 1_000;
    let mut backing = [0u8; 16];
    backing[..3].copy_from_slice(b"abc");
    let mut mem = GuestMemory::new(&mut backing);
    let Err(Refusal::Trap(_)) = report(&mut mem, &mut s, M, mouse_op(1, 10, 0, 0)) else { panic!("not suspended") };
    let wait = s.take_wait().unwrap();
    assert_eq!(wait.until, Instant::from_micros(1_000 + SEND_TIMEOUT_US));
    let bridge = bridge();
    assert_eq!(bridge.poll_wait(&mut mem, &mut s, &wait, Instant::from_micros(2_000)), None);
    s.board_mut().room = 1;
    assert_eq!(bridge.poll_wait(&mut mem, &mut s, &wait, Instant::from_micros(3_000)), Some(0));
    assert_eq!(s.board().sent, [vec![1, 10, 0, 0]], "the report the app asked for, rebuilt from the wait");
    // Typing waits the same way, then types what fits.
    let Err(Refusal::Trap(_)) = report(&mut mem, &mut s, M, type_op(0, 3)) else { panic!("not suspended") };
    let wait = s.take_wait().unwrap();
    s.board_mut().room = 4;
    assert_eq!(bridge.poll_wait(&mut mem, &mut s, &wait, Instant::from_micros(4_000)), Some(2));
    assert_eq!(s.board().sent[1], [0, 0, 0x04, 0, 0, 0, 0, 0]);
    // The host never polls: timed out.
    let Err(Refusal::Trap(_)) = report(&mut mem, &mut s, M, mouse_op(0, 0, 0, 0)) else { panic!() };
    let wait = s.take_wait().unwrap();
    assert_eq!(bridge.poll_wait(&mut mem, &mut s, &wait, wait.until), Some(Errno::TimedOut.code()));
}

#[test]
fn next_event_suspends_until_an_event_arrives_and_writes_it() {
    let mut s = app(&[KEYBOARD]);
    let mut backing = [0u8; 16];
    let mut mem = GuestMemory::new(&mut backing);
    assert!(s.board_mut().events.push(Event::pressed(3)));
    assert_eq!(code(next_event(&mut mem, &mut s, M, (4, 8), -1)), 8, "one waiting: at once");
    assert_eq!(mem.bytes(4, 8).unwrap(), [1, 0, 3, 0, 0, 0, 0, 0]);
    let Err(Refusal::Trap(_)) = next_event(&mut mem, &mut s, M, (8, 8), -1) else { panic!("not suspended") };
    let wait = s.take_wait().unwrap();
    assert_eq!(wait.until, Instant::MAX);
    let bridge = bridge();
    assert_eq!(bridge.poll_wait(&mut mem, &mut s, &wait, Instant::from_micros(5)), None);
    s.board_mut().events.push(Event { kind: EventKind::Leds, code: 0, value: 2 });
    assert_eq!(bridge.poll_wait(&mut mem, &mut s, &wait, Instant::from_micros(6)), Some(8));
    assert_eq!(mem.bytes(8, 8).unwrap(), [3, 0, 0, 0, 2, 0, 0, 0]);
    // Bad buffers; a zero timeout polls.
    assert_eq!(code(next_event(&mut mem, &mut s, M, (0, 7), -1)), Errno::Invalid.code());
    assert_eq!(code(next_event(&mut mem, &mut s, M, (12, 8), -1)), Errno::Fault.code());
    assert_eq!(code(next_event(&mut mem, &mut s, M, (0, 8), 0)), Errno::TimedOut.code());
    assert!(s.take_wait().is_none());
}

#[test]
fn the_event_queue_is_bounded() {
    let mut q = EventQueue::<2>::new();
    assert!(q.push(Event::pressed(0)) && q.push(Event::released(0)));
    assert!(!q.push(Event::pressed(1)), "full");
    assert_eq!((q.len(), q.dropped()), (2, 1));
    assert_eq!(q.pop(), Some(Event::pressed(0)), "oldest first");
    assert_eq!(q.pop(), Some(Event::released(0)));
    assert!(q.pop().is_none() && q.is_empty());
}

#[test]
fn wait_args_round_trip() {
    for op in [
        Op::Keyboard { modifiers: 0x82, ptr: u32::MAX, n: 6 },
        Op::Type { ptr: 7, len: MAX_TEXT },
        Op::Mouse { buttons: 7, x: -127, y: 127, wheel: -1 },
        Op::Gamepad { buttons: 0xffff, x: -1, y: 2, rx: -127, ry: 127 },
        Op::Consumer { usage: 0xffff },
        Op::Raw { ptr: 9, len: 64 },
        Op::Event { ptr: u32::MAX },
    ] {
        let (code, arg) = op.pack();
        assert_eq!(Op::unpack(code, arg), Some(op));
    }
    assert_eq!(Op::unpack(99, 0), None);
}

#[test]
fn every_printable_ascii_character_has_a_distinct_key() {
    let mut seen = std::collections::HashSet::new();
    for c in (0x20u8..0x7f).chain([b'\n', b'\t', 0x08]) {
        let key = ascii_key(c).unwrap_or_else(|| panic!("{:?} has no key", c as char));
        assert!(seen.insert(key), "{:?} shares a key", c as char);
    }
    assert_eq!(ascii_key(0x7f), None);
    assert_eq!(ascii_key(0xc3), None);
}
