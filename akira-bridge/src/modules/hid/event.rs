//! Input events from the host: [`Event`], as apps receive it, and the
//! [`EventQueue`] a board keeps them in.

/// Size of an event in app memory, in bytes.
pub const EVENT_SIZE: u32 = 8;
/// What an input event is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[repr(u16)]
pub enum EventKind {
    /// A button of the device went down (`code`: the button).
    Pressed = 1,
    /// A button of the device went up (`code`: the button).
    Released = 2,
    /// The host set the keyboard LEDs (`value`: bit 0 Num Lock, 1 Caps
    /// Lock, 2 Scroll Lock).
    Leds = 3,
}

/// An input event, as the app receives it: 8 bytes, `kind` (u16), `code`
/// (u16), `value` (i32), little-endian.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Event {
    /// What happened.
    pub kind: EventKind,
    /// Which button (0 for [`EventKind::Leds`]).
    pub code: u16,
    /// The LED bits for [`EventKind::Leds`], else 0.
    pub value: i32,
}

impl Event {
    /// Button `code` went down.
    pub const fn pressed(code: u16) -> Event {
        Event { kind: EventKind::Pressed, code, value: 0 }
    }

    /// Button `code` went up.
    pub const fn released(code: u16) -> Event {
        Event { kind: EventKind::Released, code, value: 0 }
    }

    /// The event's 8 bytes in app memory.
    pub fn to_bytes(&self) -> [u8; EVENT_SIZE as usize] {
        let mut b = [0u8; EVENT_SIZE as usize];
        b[..2].copy_from_slice(&(self.kind as u16).to_le_bytes());
        b[2..4].copy_from_slice(&self.code.to_le_bytes());
        b[4..].copy_from_slice(&self.value.to_le_bytes());
        b
    }
}

/// A bounded queue of input events for a board: the oldest are taken
/// first; when full, new events are dropped and counted.
#[derive(Debug, Default)]
pub struct EventQueue<const N: usize> {
    events: heapless::Deque<Event, N>,
    dropped: u32,
}

impl<const N: usize> EventQueue<N> {
    /// An empty queue.
    pub const fn new() -> Self {
        EventQueue { events: heapless::Deque::new(), dropped: 0 }
    }

    /// Adds an event; `false` (and counted) when the queue is full.
    pub fn push(&mut self, event: Event) -> bool {
        let ok = self.events.push_back(event).is_ok();
        if !ok {
            self.dropped = self.dropped.saturating_add(1);
        }
        ok
    }

    /// Takes the oldest event.
    pub fn pop(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// Events waiting.
    pub fn len(&self) -> usize {
        self.events.len()
    }

    /// Whether none wait.
    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }

    /// Events dropped because the queue was full.
    pub fn dropped(&self) -> u32 {
        self.dropped
    }
}
