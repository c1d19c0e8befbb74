use super::*;
use crate::testing::{Recorder, recorder_board, state};
use akira_caps::CapabilitySet;
use embedded_graphics::mock_display::MockDisplay;
use embedded_graphics::pixelcolor::RgbColor;

#[test]
fn lines_have_their_charged_pixel_count_at_any_length() {
    use embedded_graphics::primitives::{Line, PrimitiveStyle};
    let c = Rgb565::RED;
    // Short lines: the same pixels as embedded-graphics' `Line`.
    for (x0, y0, x1, y1) in (0..144).flat_map(|a| (0..144).map(move |b| (a % 12, a / 12, b % 12, b / 12))) {
        let (p0, p1) = (Point::new(x0, y0), Point::new(x1, y1));
        let ours: Vec<_> = line_pixels(p0, p1, c).map(|Pixel(p, _)| p).collect();
        let theirs: Vec<_> =
            Line::new(p0, p1).into_styled(PrimitiveStyle::with_stroke(c, 1)).pixels().map(|Pixel(p, _)| p).collect();
        assert_eq!(ours, theirs, "({x0}, {y0}) to ({x1}, {y1})");
    }
    // The longest a region allows, where embedded-graphics' `Line`
    // yields billions of points: exactly the charged count.
    for (p0, p1) in
        [((0, 0), (0, 131_070)), ((131_070, 5), (0, 0)), ((0, 0), (131_070, 131_070)), ((7, 0), (16_384, 99))]
    {
        let (p0, p1) = (Point::new(p0.0, p0.1), Point::new(p1.0, p1.1));
        let n = line_pixels(p0, p1, c).count();
        let expect = (p1.x - p0.x).abs().max((p1.y - p0.y).abs()) + 1;
        assert_eq!(n, expect as usize, "{p0:?} to {p1:?}");
        assert_eq!(line_pixels(p0, p1, c).last().map(|Pixel(p, _)| p), Some(p1));
    }
}

/// A 64 x 64 mock screen (embedded-graphics' test display: it records
/// every pixel and panics on drawing outside itself) whose flush
/// counts.
struct Board1 {
    rec: Recorder,
    screen: Screen<MockDisplay<Rgb565>>,
    flushes: u32,
}
recorder_board!(Board1);

impl Display for Board1 {
    type Target = MockDisplay<Rgb565>;
    fn draw<R>(&mut self, f: impl FnOnce(&mut Self::Target) -> R) -> Result<R, Errno> {
        self.screen.draw(f)
    }
    fn flush(&mut self) -> Result<(), Errno> {
        self.flushes += 1;
        self.screen.flush()
    }
}

fn app(region: DisplayScope) -> AppState<Board1> {
    let caps = CapabilitySet { display: Some(region), ..Default::default() };
    let mut screen = MockDisplay::new();
    // Tests draw over earlier drawings.
    screen.set_allow_overdraw(true);
    state(Board1 { rec: Recorder::default(), screen: Screen::new(screen), flushes: 0 }, &caps)
}

const RED: u32 = 0xf800;
const GREEN: u32 = 0x07e0;
const BLUE: u32 = 0x001f;
const WHITE: u32 = 0xffff;

fn value(r: Charged) -> (i32, u64) {
    match r {
        Ok(v) => v,
        Err(Refusal::Errno(e)) => panic!("{e}"),
        Err(Refusal::Trap(t)) => panic!("{t}"),
    }
}

fn err(r: Charged) -> Errno {
    match r {
        Err(Refusal::Errno(e)) => e,
        Ok(v) => panic!("expected an error, got {v:?}"),
        Err(Refusal::Trap(t)) => panic!("{t}"),
    }
}

fn screen(s: &AppState<Board1>) -> &MockDisplay<Rgb565> {
    s.board().screen.target()
}

/// The top-left 8 x 6 pixels of the screen as a pattern.
fn corner(s: &AppState<Board1>) -> Vec<String> {
    (0..6)
        .map(|y| {
            (0..8)
                .map(|x| match screen(s).get_pixel(Point::new(x, y)) {
                    None => ' ',
                    Some(Rgb565::RED) => 'R',
                    Some(Rgb565::GREEN) => 'G',
                    Some(Rgb565::BLUE) => 'B',
                    Some(Rgb565::WHITE) => 'W',
                    Some(_) => '?',
                })
                .collect()
        })
        .collect()
}

#[test]
fn primitives_draw_exact_pixels() {
    let mut s = app(DisplayScope::WHOLE);
    assert_eq!(value(size(&mut s)).0, 64 << 16 | 64);
    assert_eq!(value(pixel(&mut s, 0, 0, RED)), (0, 1));
    value(line(&mut s, (2, 0), (5, 3), GREEN));
    value(rect(&mut s, (0, 2, 3, 3), BLUE, 0));
    value(rect(&mut s, (1, 5, 2, 1), WHITE, 1));
    assert_eq!(
        corner(&s),
        [
            "R G     ", //
            "   G    ", //
            "BBB G   ", //
            "B B  G  ", //
            "BBB     ", //
            " WW     ",
        ]
    );
    assert_eq!(value(rect(&mut s, (0, 0, 4, 2), RED, 1)).1, 8, "a filled area costs its pixels");
    assert_eq!(err(rect(&mut s, (0, 0, 1, 1), RED, 2)), Errno::Invalid);
    assert_eq!(err(pixel(&mut s, 0, 0, 0x1_0000)), Errno::Invalid, "colours are 16 bits");
    assert_eq!(
        s.board().rec.events[..2],
        [
            "Drawn { op: \"pixel\", x: 0, y: 0, width: 1, height: 1 }",
            "Drawn { op: \"line\", x: 2, y: 0, width: 4, height: 4 }"
        ]
    );
    value(flush(&mut s));
    assert_eq!(s.board().flushes, 1);
    assert_eq!(s.board().rec.events.last().map(String::as_str), Some("Flushed"));
}

#[test]
fn text_uses_the_6x10_font_top_left_at_the_point() {
    let mut s = app(DisplayScope::WHOLE);
    let mut backing = [0u8; 32];
    backing[..2].copy_from_slice(b"Hi");
    let mut mem = GuestMemory::new(&mut backing);
    assert_eq!(value(text(&mem, &mut s, (10, 20), (0, 2), WHITE)), (0, 12 * 10));
    // The same text drawn by embedded-graphics on a display of its own.
    let mut expected = MockDisplay::<Rgb565>::new();
    Text::with_baseline("Hi", Point::new(10, 20), MonoTextStyle::new(&FONT_6X10, Rgb565::WHITE), Baseline::Top)
        .draw(&mut expected)
        .unwrap();
    screen(&s).assert_eq(&expected);
    assert!(screen(&s).affected_area().top_left.y >= 20 && screen(&s).affected_area().top_left.x >= 10);
    assert_eq!(s.board().rec.events, ["Drawn { op: \"text\", x: 10, y: 20, width: 12, height: 10 }"]);
    // Bad pointers, bad UTF-8, too long.
    assert_eq!(err(text(&mem, &mut s, (0, 0), (30, 4), WHITE)), Errno::Fault);
    mem.write(4, &[0xff]).unwrap();
    assert_eq!(err(text(&mem, &mut s, (0, 0), (4, 1), WHITE)), Errno::Invalid);
    assert_eq!(err(text(&mem, &mut s, (0, 0), (0, MAX_TEXT + 1), WHITE)), Errno::TooLarge);
}

#[test]
fn the_region_guard_refuses_what_is_not_wholly_inside_and_fill_fills_only_the_region() {
    let region = DisplayScope { x: 2, y: 1, width: 3, height: 2 };
    let mut s = app(region);
    assert_eq!(value(fill(&mut s, RED)), (0, 6));
    value(pixel(&mut s, 4, 2, GREEN));
    assert_eq!(
        corner(&s),
        ["        ", "  RRR   ", "  RRG   ", "        ", "        ", "        "],
        "fill covered the region and nothing else"
    );
    assert_eq!(err(pixel(&mut s, 5, 2, BLUE)), Errno::Denied, "one past the right edge");
    assert_eq!(err(pixel(&mut s, 1, 1, BLUE)), Errno::Denied);
    assert_eq!(err(line(&mut s, (2, 1), (5, 1), BLUE)), Errno::Denied, "a line crossing the edge");
    assert_eq!(err(rect(&mut s, (2, 1, 3, 3), BLUE, 1)), Errno::Denied);
    assert_eq!(err(rect(&mut s, (u32::MAX, 1, 2, 1), BLUE, 1)), Errno::Denied, "a negative x");
    let mut backing = *b"abc";
    let mem = GuestMemory::new(&mut backing);
    assert_eq!(err(text(&mem, &mut s, (2, 1), (0, 1), BLUE)), Errno::Denied, "a 6x10 glyph does not fit in 3x2");
    assert_eq!(err(blit(&mem, &mut s, (4, 2, 2, 1), (0, 4))), Errno::Denied);
    assert_eq!(s.guard().denials(Capability::Display), 7);
    assert_eq!(corner(&s)[1..3], ["  RRR   ", "  RRG   "], "nothing of a refused primitive was drawn");
    value(rect(&mut s, (2, 1, 3, 2), BLUE, 0));
    assert_eq!(corner(&s)[1..3], ["  BBB   ", "  BBB   "], "the whole region is allowed");
}

#[test]
fn a_whole_screen_region_is_clipped_to_the_screen() {
    let mut s = app(DisplayScope::WHOLE);
    // MockDisplay panics on a pixel outside its 64 x 64: the clip must
    // stop them.
    assert_eq!(value(fill(&mut s, BLUE)), (0, 64 * 64));
    value(rect(&mut s, (60, 60, 10, 10), RED, 1));
    value(line(&mut s, (0, 63), (200, 63), GREEN));
    assert_eq!(screen(&s).get_pixel(Point::new(63, 62)), Some(Rgb565::RED));
    assert_eq!(screen(&s).get_pixel(Point::new(63, 63)), Some(Rgb565::GREEN));
    assert_eq!(screen(&s).affected_area(), Rectangle::new(Point::zero(), Size::new(64, 64)));
}

#[test]
fn blit_copies_little_endian_rgb565_from_app_memory() {
    let mut s = app(DisplayScope::WHOLE);
    let mut backing = [0u8; 16];
    // 2 x 2: red, green / blue, white.
    backing[4..12].copy_from_slice(&[0x00, 0xf8, 0xe0, 0x07, 0x1f, 0x00, 0xff, 0xff]);
    let mem = GuestMemory::new(&mut backing);
    assert_eq!(value(blit(&mem, &mut s, (1, 1, 2, 2), (4, 8))), (0, 4));
    assert_eq!(corner(&s)[..4], ["        ", " RG     ", " BW     ", "        "]);
    assert_eq!(err(blit(&mem, &mut s, (0, 0, 2, 2), (4, 6))), Errno::Invalid, "length is not 2*w*h");
    assert_eq!(err(blit(&mem, &mut s, (0, 0, 2, 2), (12, 8))), Errno::Fault, "past the end of memory");
    assert_eq!(err(blit(&mem, &mut s, (0, 0, 2, 2), (u32::MAX, 8))), Errno::Fault);
    assert_eq!(err(blit(&mem, &mut s, (0, 0, 129, 128), (0, 0))), Errno::TooLarge);
    assert_eq!(err(blit(&mem, &mut s, (0, 0, u32::MAX, u32::MAX), (0, 0))), Errno::TooLarge, "no overflow");
    assert_eq!(corner(&s)[0], "        ", "refused blits drew nothing");
    assert_eq!(value(blit(&mem, &mut s, (0, 0, 0, 5), (0, 0))).0, 0, "an empty image");
}

#[test]
fn screen_adapter_calls_the_flush_hook() {
    let mut flushed = 0;
    let mut screen = Screen::with_flush(MockDisplay::<Rgb565>::new(), |_: &mut MockDisplay<Rgb565>| {
        flushed += 1;
        Err(Errno::Io)
    });
    assert_eq!(screen.draw(|t| t.size()), Ok(Size::new(64, 64)));
    assert_eq!(screen.flush(), Err(Errno::Io), "the hook's error reaches the app");
    assert_eq!(screen.flush(), Err(Errno::Io));
    assert_eq!(flushed, 2);
}
