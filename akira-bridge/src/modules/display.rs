//! `akira:display`: drawing on the board's screen, inside the app's region.
//!
//! The screen is any embedded-graphics 0.8 [`DrawTarget`] of [`Rgb565`]
//! colours that knows its size ([`OriginDimensions`]): every display
//! driver crate written for embedded-graphics (mipidsi, st7789, ili9341,
//! ssd1351, ...) works. Boards implement [`Display`], usually by
//! forwarding to a [`Screen`], the adapter that holds a draw target and the
//! flush hook of a buffered driver.
//!
//! ## The guard
//!
//! The manifest grants a region of the screen (`display = "whole"` or
//! `display = { x, y, width, height }`). Every primitive's bounding box is
//! checked against it with four integer compares
//! ([`akira_caps::Guard::display`]): a primitive that does not lie wholly
//! inside the region is **refused** (`AKIRA_EDENIED`, counted like any
//! denial) and nothing of it is drawn. Refusing rather than clipping keeps
//! the rule simple to state and to test, and an app that draws outside
//! its region has a bug it should hear about. `fill` fills the region, not
//! the screen. What is inside the region but off the screen (a "whole"
//! region is 65535 pixels wide) is clipped: drawing goes through a
//! [`Clipped`](embedded_graphics::draw_target::Clipped) view of the region
//! cut to the screen, so no pixel outside it can be touched even by a
//! primitive whose bounding box was computed wrongly.
//!
//! Coordinates are absolute screen pixels, unsigned (a negative `i32` is
//! a huge `u32` and so outside every region). Colours are RGB565 in the low
//! 16 bits (anything above is `AKIRA_EINVAL`).
//!
//! ## Cost
//!
//! Drawing is native work done on the app's behalf, so each call charges
//! fuel ([`crate::charge`]): the fixed part `akira-abi` declares plus its
//! rate for each pixel the primitive can cover (a filled area, a line's
//! length, a rectangle's outline, a text's or image's bounding box).

use crate::host::{Caller, Linker};
use akira_caps::{Capability, ModuleCapability, ModuleSpec, scope::DisplayScope};
use embedded_graphics::draw_target::{DrawTarget, DrawTargetExt};
use embedded_graphics::geometry::{Dimensions, OriginDimensions, Point, Size};
use embedded_graphics::mono_font::{MonoTextStyle, ascii::FONT_6X10};
use embedded_graphics::pixelcolor::{Rgb565, raw::RawU16};
use embedded_graphics::primitives::{Primitive, PrimitiveStyleBuilder, Rectangle, StrokeAlignment};
use embedded_graphics::text::{Baseline, Text};
use embedded_graphics::{Drawable, Pixel};

use crate::board::{Board, Trace};
use crate::errno::Errno;
use crate::host_fn;
use crate::memory::GuestMemory;
use crate::module::{HostModule, LinkContext, LinkError};
use crate::state::{AppState, Refusal, memory_and_state, reply};

/// Longest text one `text` call draws, in bytes.
pub const MAX_TEXT: u32 = 256;
/// Largest image one `blit` call copies, in bytes (16384 pixels, e.g.
/// 128 x 128).
pub const MAX_BLIT_BYTES: u32 = 32 * 1024;
/// The font of `text`: embedded-graphics' 6 x 10 pixel ASCII mono font
/// (characters outside ASCII are drawn as `?`).
pub const FONT: &embedded_graphics::mono_font::MonoFont<'static> = &FONT_6X10;

/// A board's screen. Errors are the codes apps see: [`Errno::Io`] when the
/// driver fails (the module maps draw-target errors to it).
pub trait Display {
    /// The driver: any embedded-graphics draw target of RGB565 colours
    /// that knows its size.
    type Target: DrawTarget<Color = Rgb565> + OriginDimensions;

    /// Runs `f` on the screen's draw target.
    fn draw<R>(&mut self, f: impl FnOnce(&mut Self::Target) -> R) -> Result<R, Errno>;

    /// Shows what was drawn: a buffered driver sends its frame buffer to
    /// the panel; a driver that draws straight to the panel does nothing.
    fn flush(&mut self) -> Result<(), Errno>;
}

/// The flush hook of a [`Screen`] that needs none.
pub type NoFlush<T> = fn(&mut T) -> Result<(), Errno>;

/// A [`Display`] over any embedded-graphics draw target, with a flush
/// hook: `Screen::new(driver)` for drivers that draw straight to the
/// panel, `Screen::with_flush(driver, |d| d.flush().map_err(|_| Errno::Io))`
/// for buffered ones. A board holds one and forwards its [`Display`]
/// methods to it.
pub struct Screen<T, F = NoFlush<T>> {
    target: T,
    flush: F,
}

impl<T> Screen<T> {
    /// A screen whose flush does nothing.
    pub fn new(target: T) -> Self {
        Screen { target, flush: |_| Ok(()) }
    }
}

impl<T, F> Screen<T, F> {
    /// A screen whose flush calls `flush` on the driver.
    pub fn with_flush(target: T, flush: F) -> Self {
        Screen { target, flush }
    }

    /// The driver.
    pub fn target(&self) -> &T {
        &self.target
    }

    /// The driver, mutably (firmware code that draws its own things).
    pub fn target_mut(&mut self) -> &mut T {
        &mut self.target
    }
}

impl<T, F> Display for Screen<T, F>
where
    T: DrawTarget<Color = Rgb565> + OriginDimensions,
    F: FnMut(&mut T) -> Result<(), Errno>,
{
    type Target = T;

    fn draw<R>(&mut self, f: impl FnOnce(&mut T) -> R) -> Result<R, Errno> {
        Ok(f(&mut self.target))
    }

    fn flush(&mut self) -> Result<(), Errno> {
        (self.flush)(&mut self.target)
    }
}

/// The module's spec.
pub static SPEC: ModuleSpec = ModuleSpec {
    import: akira_abi::DISPLAY.import,
    capability: ModuleCapability::Builtin(Capability::Display),
    functions: akira_abi::DISPLAY.functions,
};

/// The `akira:display` module; the board must implement [`Display`].
#[derive(Clone, Copy, Debug, Default)]
pub struct DisplayModule;

/// A call's result and the pixels it can cover (its work, charged at the
/// function's declared rate).
type Charged = Result<(i32, u64), Refusal>;

fn color(c: u32) -> Result<Rgb565, Errno> {
    u16::try_from(c).map(|raw| RawU16::new(raw).into()).map_err(|_| Errno::Invalid)
}

/// The rectangle of a granted region.
fn region_rect(r: DisplayScope) -> Rectangle {
    Rectangle::new(Point::new(r.x.into(), r.y.into()), Size::new(r.width.into(), r.height.into()))
}

/// A point the guard has checked: inside a region, so below 2^17.
fn point(x: u32, y: u32) -> Point {
    Point::new(x as i32, y as i32)
}

/// Draws `d` on the board's screen, clipped to the app's region cut to the
/// screen. A draw-target error is [`Errno::Io`].
fn draw_clipped<B: Board + Display>(
    state: &mut AppState<B>,
    d: impl FnOnce(&mut embedded_graphics::draw_target::Clipped<'_, B::Target>) -> bool,
) -> Result<(), Errno> {
    let region = region_rect(state.guard().grants().display_region());
    let ok = state.board_mut().draw(|t| {
        let area = region.intersection(&t.bounding_box());
        d(&mut t.clipped(&area))
    })?;
    if ok { Ok(()) } else { Err(Errno::Io) }
}

/// Checks the rectangle with the guard, draws, traces.
fn guarded_draw<B: Board + Display>(
    state: &mut AppState<B>,
    op: &'static str,
    (x, y, width, height): (u32, u32, u32, u32),
    d: impl FnOnce(&mut embedded_graphics::draw_target::Clipped<'_, B::Target>) -> bool,
) -> Result<(), Refusal> {
    state.guarded(|g| g.display(x, y, width, height))?;
    draw_clipped(state, d)?;
    state.trace(Trace::Drawn { op, x, y, width, height });
    Ok(())
}

fn size<B: Board + Display>(state: &mut AppState<B>) -> Charged {
    let s = state.board_mut().draw(|t| t.size())?;
    let (w, h) = (s.width.min(0x7fff), s.height.min(0xffff));
    Ok(((w << 16 | h) as i32, 0))
}

fn fill<B: Board + Display>(state: &mut AppState<B>, c: u32) -> Charged {
    let c = color(c)?;
    // The app's own region needs no guard check: the clip is the region.
    let region = region_rect(state.guard().grants().display_region());
    let area = state.board_mut().draw(|t| region.intersection(&t.bounding_box()))?;
    draw_clipped(state, |t| t.fill_solid(&area, c).is_ok())?;
    let Size { width, height } = area.size;
    let (x, y) = (area.top_left.x as u32, area.top_left.y as u32);
    state.trace(Trace::Drawn { op: "fill", x, y, width, height });
    Ok((0, u64::from(width) * u64::from(height)))
}

fn pixel<B: Board + Display>(state: &mut AppState<B>, x: u32, y: u32, c: u32) -> Charged {
    let c = color(c)?;
    guarded_draw(state, "pixel", (x, y, 1, 1), |t| Pixel(point(x, y), c).draw(t).is_ok())?;
    Ok((0, 1))
}

fn line<B: Board + Display>(state: &mut AppState<B>, (x0, y0): (u32, u32), (x1, y1): (u32, u32), c: u32) -> Charged {
    let c = color(c)?;
    let (w, h) = (x0.abs_diff(x1).saturating_add(1), y0.abs_diff(y1).saturating_add(1));
    let bbox = (x0.min(x1), y0.min(y1), w, h);
    guarded_draw(state, "line", bbox, |t| t.draw_iter(line_pixels(point(x0, y0), point(x1, y1), c)).is_ok())?;
    Ok((0, u64::from(w.max(h))))
}

/// The pixels of the one-pixel line from `p0` to `p1`, both ends
/// included: `max(|dx|, |dy|) + 1` of them, the count the call is charged
/// for, the same pixels embedded-graphics' `Line` draws (its Bresenham:
/// the major axis is y on a tie, the minor step taken once the error
/// passes the major length). Not `Line` itself: from a length of about
/// 16 384 pixels its thick-line iterator yields billions of points (a
/// region may be up to 131 070 pixels wide), so one call could hold the
/// firmware for minutes (found by the `host_calls` fuzz target).
fn line_pixels(p0: Point, p1: Point, c: Rgb565) -> impl Iterator<Item = Pixel<Rgb565>> {
    // Coordinates are below 2^17 (checked by the guard): no overflow in i32.
    let d = p1 - p0;
    let dir = Point::new(if d.x >= 0 { 1 } else { -1 }, if d.y >= 0 { 1 } else { -1 });
    let d = d.abs();
    let (major, minor, long, short) = if d.y >= d.x {
        (Point::new(0, dir.y), Point::new(dir.x, 0), d.y, d.x)
    } else {
        (Point::new(dir.x, 0), Point::new(0, dir.y), d.x, d.y)
    };
    let (mut p, mut error, mut left) = (p0, 0, long + 1);
    core::iter::from_fn(move || {
        if left == 0 {
            return None;
        }
        left -= 1;
        if error > long {
            p += minor;
            error -= 2 * long;
        }
        let here = p;
        p += major;
        error += 2 * short;
        Some(Pixel(here, c))
    })
}

fn rect<B: Board + Display>(
    state: &mut AppState<B>,
    (x, y, w, h): (u32, u32, u32, u32),
    c: u32,
    filled: u32,
) -> Charged {
    let c = color(c)?;
    let style = match filled {
        0 => PrimitiveStyleBuilder::new().stroke_color(c).stroke_width(1).stroke_alignment(StrokeAlignment::Inside),
        1 => PrimitiveStyleBuilder::new().fill_color(c),
        _ => return Err(Errno::Invalid.into()),
    }
    .build();
    guarded_draw(state, "rect", (x, y, w, h), |t| {
        Rectangle::new(point(x, y), Size::new(w, h)).into_styled(style).draw(t).is_ok()
    })?;
    let pixels = if filled == 1 { u64::from(w) * u64::from(h) } else { 2 * (u64::from(w) + u64::from(h)) };
    Ok((0, pixels))
}

fn text<B: Board + Display>(
    memory: &GuestMemory<'_>,
    state: &mut AppState<B>,
    (x, y): (u32, u32),
    (ptr, len): (u32, u32),
    c: u32,
) -> Charged {
    let c = color(c)?;
    if len > MAX_TEXT {
        return Err(Errno::TooLarge.into());
    }
    let s = memory.str(ptr, len)?;
    let style = MonoTextStyle::new(FONT, c);
    // The size from the font's metrics, at the origin; the guard checks it
    // at (x, y) before any coordinate becomes a signed point.
    let Size { width, height } = Text::with_baseline(s, Point::zero(), style, Baseline::Top).bounding_box().size;
    guarded_draw(state, "text", (x, y, width, height), |t| {
        Text::with_baseline(s, point(x, y), style, Baseline::Top).draw(t).is_ok()
    })?;
    Ok((0, u64::from(width) * u64::from(height)))
}

fn blit<B: Board + Display>(
    memory: &GuestMemory<'_>,
    state: &mut AppState<B>,
    (x, y, w, h): (u32, u32, u32, u32),
    (ptr, len): (u32, u32),
) -> Charged {
    let need = (u64::from(w) * u64::from(h)).saturating_mul(2);
    if need > u64::from(MAX_BLIT_BYTES) {
        return Err(Errno::TooLarge.into());
    }
    if u64::from(len) != need {
        return Err(Errno::Invalid.into());
    }
    state.guarded(|g| g.display(x, y, w, h))?;
    let bytes = memory.bytes(ptr, len)?;
    let pixels = bytes.chunks_exact(2).map(|p| Rgb565::from(RawU16::new(u16::from_le_bytes([p[0], p[1]]))));
    let area = Rectangle::new(point(x, y), Size::new(w, h));
    draw_clipped(state, |t| t.fill_contiguous(&area, pixels).is_ok())?;
    state.trace(Trace::Drawn { op: "blit", x, y, width: w, height: h });
    Ok((0, u64::from(w) * u64::from(h)))
}

fn flush<B: Board + Display>(state: &mut AppState<B>) -> Charged {
    state.board_mut().flush()?;
    state.trace(Trace::Flushed);
    Ok((0, 0))
}

/// Counts a call's pixels and replies.
fn charged<B: Board>(c: &mut Caller<'_, AppState<B>>, result: Charged) -> Result<i32, crate::host::Error> {
    reply(result.map(|(value, pixels)| {
        c.data_mut().work(pixels);
        value
    }))
}

impl<B: Board + Display> HostModule<B> for DisplayModule {
    fn spec(&self) -> &'static ModuleSpec {
        &SPEC
    }

    fn link(&self, linker: &mut Linker<AppState<B>>, _: &LinkContext<'_>) -> Result<(), LinkError> {
        type C<'a, B> = Caller<'a, AppState<B>>;
        host_fn!(linker, SPEC, "size", |c: C<'_, B>| {
            let r = size(c.data_mut());
            charged(&mut c, r)
        })?;
        host_fn!(linker, SPEC, "fill", |c: C<'_, B>, color: u32| {
            let r = fill(c.data_mut(), color);
            charged(&mut c, r)
        })?;
        host_fn!(linker, SPEC, "pixel", |c: C<'_, B>, x: u32, y: u32, color: u32| {
            let r = pixel(c.data_mut(), x, y, color);
            charged(&mut c, r)
        })?;
        host_fn!(linker, SPEC, "line", |c: C<'_, B>, x0: u32, y0: u32, x1: u32, y1: u32, color: u32| {
            let r = line(c.data_mut(), (x0, y0), (x1, y1), color);
            charged(&mut c, r)
        })?;
        host_fn!(linker, SPEC, "rect", |c: C<'_, B>, x: u32, y: u32, w: u32, h: u32, color: u32, filled: u32| {
            let r = rect(c.data_mut(), (x, y, w, h), color, filled);
            charged(&mut c, r)
        })?;
        host_fn!(linker, SPEC, "text", |c: C<'_, B>, x: u32, y: u32, ptr: u32, len: u32, color: u32| {
            let r = memory_and_state(&mut c).and_then(|(mem, s)| text(&mem, s, (x, y), (ptr, len), color));
            charged(&mut c, r)
        })?;
        host_fn!(linker, SPEC, "blit", |c: C<'_, B>, x: u32, y: u32, w: u32, h: u32, ptr: u32, len: u32| {
            let r = memory_and_state(&mut c).and_then(|(mem, s)| blit(&mem, s, (x, y, w, h), (ptr, len)));
            charged(&mut c, r)
        })?;
        host_fn!(linker, SPEC, "flush", |c: C<'_, B>| {
            let r = flush(c.data_mut());
            charged(&mut c, r)
        })?;
        Ok(())
    }
}

#[cfg(test)]
mod tests;
