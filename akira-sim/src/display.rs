//! The simulated screen: a 240 x 135 RGB565 frame buffer (the size of the
//! 1.14" ST7789 panels on many ESP32-S3 boards), drawn through the
//! bridge's `akira:display` module like a real driver.
//!
//! The buffer is embedded-graphics' own [`Framebuffer`] (little-endian
//! RGB565). A flush copies it into a [`Frame`], numbered
//! from 1, which the board records and hands to its frame sink
//! ([`crate::SimBoard::set_frame_sink`]; `akira run --display-out DIR`
//! saves each as a PNG).

use akira_bridge::embedded_graphics::framebuffer::{Framebuffer, buffer_size};
use akira_bridge::embedded_graphics::pixelcolor::raw::{LittleEndian, RawU16};
use akira_bridge::embedded_graphics::pixelcolor::{Rgb565, Rgb888, RgbColor};
use akira_bridge::{Errno, Screen};

/// Screen width in pixels.
pub const WIDTH: usize = 240;
/// Screen height in pixels.
pub const HEIGHT: usize = 135;

/// The simulated panel's frame buffer.
pub type SimFramebuffer =
    Framebuffer<Rgb565, RawU16, LittleEndian, WIDTH, HEIGHT, { buffer_size::<Rgb565>(WIDTH, HEIGHT) }>;

/// The screen as the board holds it: the frame buffer behind the bridge's
/// [`Screen`] adapter (flushing is the board's: it snapshots the buffer).
pub type SimScreen = Screen<SimFramebuffer>;

/// A new, black screen.
pub fn screen() -> SimScreen {
    Screen::new(SimFramebuffer::new())
}

/// One flushed frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frame {
    /// Its number: 1 for the first flush.
    pub number: u32,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// RGB565 pixels, row by row.
    pub pixels: Vec<u16>,
}

impl Frame {
    /// A snapshot of `fb`.
    pub fn capture(number: u32, fb: &SimFramebuffer) -> Frame {
        let pixels = fb.data().chunks_exact(2).map(|p| u16::from_le_bytes([p[0], p[1]])).collect();
        Frame { number, width: WIDTH as u32, height: HEIGHT as u32, pixels }
    }

    /// The RGB565 pixel at `(x, y)`.
    pub fn pixel(&self, x: u32, y: u32) -> Option<u16> {
        if x >= self.width || y >= self.height {
            return None;
        }
        self.pixels.get((y * self.width + x) as usize).copied()
    }

    /// The frame as an 8-bit RGB PNG (each RGB565 channel widened the way
    /// embedded-graphics converts to RGB888).
    pub fn to_png(&self) -> Result<Vec<u8>, Errno> {
        let mut rgb = Vec::with_capacity(self.pixels.len() * 3);
        for &p in &self.pixels {
            let c = Rgb888::from(Rgb565::from(RawU16::new(p)));
            rgb.extend_from_slice(&[c.r(), c.g(), c.b()]);
        }
        let mut out = Vec::new();
        let mut encoder = png::Encoder::new(&mut out, self.width, self.height);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header().map_err(|_| Errno::Io)?;
        writer.write_image_data(&rgb).map_err(|_| Errno::Io)?;
        writer.finish().map_err(|_| Errno::Io)?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use akira_bridge::Display;
    use akira_bridge::embedded_graphics::{Drawable, Pixel, geometry::Point};

    #[test]
    fn frames_capture_the_buffer_and_encode_as_png() {
        let mut s = screen();
        s.draw(|fb| Pixel(Point::new(3, 2), Rgb565::RED).draw(fb)).unwrap().unwrap();
        s.draw(|fb| Pixel(Point::new(239, 134), Rgb565::new(0, 63, 0)).draw(fb)).unwrap().unwrap();
        let frame = Frame::capture(1, s.target());
        assert_eq!(frame.pixel(3, 2), Some(0xf800));
        assert_eq!(frame.pixel(239, 134), Some(0x07e0));
        assert_eq!(frame.pixel(0, 0), Some(0));
        assert_eq!(frame.pixel(240, 0), None);
        let png = frame.to_png().unwrap();
        let decoder = png::Decoder::new(std::io::Cursor::new(png));
        let mut reader = decoder.read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut buf).unwrap();
        assert_eq!((info.width, info.height), (240, 135));
        let at = |x: usize, y: usize| &buf[(y * 240 + x) * 3..][..3];
        assert_eq!(at(3, 2), [255, 0, 0]);
        assert_eq!(at(239, 134), [0, 255, 0]);
        assert_eq!(at(0, 0), [0, 0, 0]);
    }
}
