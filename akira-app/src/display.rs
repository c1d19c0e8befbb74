//! `akira:display`: drawing on the board's screen. Needs the `display`
//! capability, the whole screen or a region of it:
//!
//! ```toml
//! [capabilities]
//! display = "whole"            # or { x = 0, y = 0, width = 120, height = 60 }
//! ```
//!
//! Coordinates are absolute screen pixels. A shape that is not wholly
//! inside the app's region is refused ([`Error::DENIED`]) and nothing of it
//! is drawn; [`fill`] fills the region. What is drawn shows after
//! [`flush`] (on a buffered display).
//!
//! ```ignore
//! use akira_app::display::{self, Color};
//! # fn run() -> akira_app::Result<()> {
//! let (width, height) = display::size()?;
//! display::fill(Color::BLACK)?;
//! display::rect(0, 0, width as u16, height as u16, Color::WHITE)?;
//! display::text(4, 4, "Akira", Color::rgb(255, 200, 0))?;
//! display::flush()?;
//! # Ok(()) }
//! ```

use crate::{Error, Result};

/// Width of a character of the text font, in pixels.
pub const FONT_WIDTH: u16 = 6;
/// Height of a line of the text font, in pixels.
pub const FONT_HEIGHT: u16 = 10;
/// Longest text one [`text`] call draws, in bytes.
pub const MAX_TEXT: usize = 256;
/// Largest image one [`blit`] call copies, in pixels.
pub const MAX_BLIT_PIXELS: usize = 16 * 1024;

use crate::imports::display as ffi;

/// An RGB565 colour.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[repr(transparent)]
pub struct Color(pub u16);

impl Color {
    /// Black.
    pub const BLACK: Color = Color(0x0000);
    /// White.
    pub const WHITE: Color = Color(0xffff);
    /// Red.
    pub const RED: Color = Color(0xf800);
    /// Green.
    pub const GREEN: Color = Color(0x07e0);
    /// Blue.
    pub const BLUE: Color = Color(0x001f);
    /// Yellow.
    pub const YELLOW: Color = Color(0xffe0);
    /// Cyan.
    pub const CYAN: Color = Color(0x07ff);
    /// Magenta.
    pub const MAGENTA: Color = Color(0xf81f);

    /// The nearest RGB565 colour to 8-bit red, green and blue.
    pub const fn rgb(r: u8, g: u8, b: u8) -> Color {
        Color(((r as u16 & 0xf8) << 8) | ((g as u16 & 0xfc) << 3) | (b as u16 >> 3))
    }

    fn arg(self) -> i32 {
        i32::from(self.0)
    }
}

/// The screen's width and height in pixels.
pub fn size() -> Result<(u16, u16)> {
    // SAFETY: no pointers.
    let packed = Error::check(unsafe { ffi::size() })? as u32;
    Ok(((packed >> 16) as u16, packed as u16))
}

/// Fills the app's region.
pub fn fill(color: Color) -> Result<()> {
    // SAFETY: no pointers.
    Error::check(unsafe { ffi::fill(color.arg()) }).map(drop)
}

/// Sets one pixel.
pub fn pixel(x: u16, y: u16, color: Color) -> Result<()> {
    // SAFETY: no pointers.
    Error::check(unsafe { ffi::pixel(x.into(), y.into(), color.arg()) }).map(drop)
}

/// A 1-pixel line from `(x0, y0)` to `(x1, y1)`, both ends included.
pub fn line(x0: u16, y0: u16, x1: u16, y1: u16, color: Color) -> Result<()> {
    // SAFETY: no pointers.
    Error::check(unsafe { ffi::line(x0.into(), y0.into(), x1.into(), y1.into(), color.arg()) }).map(drop)
}

/// The 1-pixel outline just inside the rectangle `w` x `h` at `(x, y)`.
pub fn rect(x: u16, y: u16, w: u16, h: u16, color: Color) -> Result<()> {
    // SAFETY: no pointers.
    Error::check(unsafe { ffi::rect(x.into(), y.into(), w.into(), h.into(), color.arg(), 0) }).map(drop)
}

/// The filled rectangle `w` x `h` at `(x, y)`.
pub fn fill_rect(x: u16, y: u16, w: u16, h: u16, color: Color) -> Result<()> {
    // SAFETY: no pointers.
    Error::check(unsafe { ffi::rect(x.into(), y.into(), w.into(), h.into(), color.arg(), 1) }).map(drop)
}

/// `text` in the 6 x 10 font ([`FONT_WIDTH`], [`FONT_HEIGHT`]), its
/// top-left corner at `(x, y)`, on a transparent background; `\n` starts
/// a new line, characters outside ASCII show as `?`. At most
/// [`MAX_TEXT`] bytes ([`Error::TOO_LARGE`]).
pub fn text(x: u16, y: u16, text: &str, color: Color) -> Result<()> {
    if text.len() > MAX_TEXT {
        return Err(Error::TOO_LARGE);
    }
    // SAFETY: the host reads `text.len()` bytes at the pointer, which
    // `text` owns; it checks the range against the app's memory.
    Error::check(unsafe { ffi::text(x.into(), y.into(), text.as_ptr(), text.len() as i32, color.arg()) }).map(drop)
}

/// Copies a `w` x `h` image, row by row, to `(x, y)`. `pixels.len()` must
/// be `w * h` ([`Error::INVALID`]), at most [`MAX_BLIT_PIXELS`].
pub fn blit(x: u16, y: u16, w: u16, h: u16, pixels: &[Color]) -> Result<()> {
    if pixels.len() != usize::from(w) * usize::from(h) {
        return Err(Error::INVALID);
    }
    let len = i32::try_from(pixels.len() * 2).map_err(|_| Error::TOO_LARGE)?;
    // SAFETY: `Color` is a `u16`, and wasm32 is little-endian, so the
    // pixels are the little-endian RGB565 bytes the host reads; it reads
    // `len` bytes at the pointer, which `pixels` owns, checking the range.
    Error::check(unsafe { ffi::blit(x.into(), y.into(), w.into(), h.into(), pixels.as_ptr().cast(), len) }).map(drop)
}

/// Shows what was drawn.
pub fn flush() -> Result<()> {
    // SAFETY: no pointers.
    Error::check(unsafe { ffi::flush() }).map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rgb_rounds_down_to_565() {
        assert_eq!(Color::rgb(255, 255, 255), Color::WHITE);
        assert_eq!(Color::rgb(255, 0, 0), Color::RED);
        assert_eq!(Color::rgb(0, 255, 0), Color::GREEN);
        assert_eq!(Color::rgb(0, 0, 255), Color::BLUE);
        assert_eq!(Color::rgb(7, 3, 7), Color::BLACK);
    }
}
