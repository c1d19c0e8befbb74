//! Draws one frame on the board's screen: a background, filled and
//! outlined rectangles, two lines, text, and a small image copied from app
//! memory (a 16 x 16 checkerboard), then flushes it. `akira run
//! --display-out DIR` saves the frame as a PNG.
#![no_std]

use akira_app::display::{self, Color};
use akira_app::info;

/// Background: a dark blue.
const BACKGROUND: Color = Color::rgb(16, 24, 64);
/// Side of the checkerboard image.
const SIDE: u16 = 16;

/// A 16 x 16 checkerboard of 4 x 4 squares, magenta and white.
fn checkerboard() -> [Color; (SIDE * SIDE) as usize] {
    core::array::from_fn(|i| {
        let (x, y) = (i % SIDE as usize, i / SIDE as usize);
        if (x / 4 + y / 4) % 2 == 0 { Color::MAGENTA } else { Color::WHITE }
    })
}

fn run() -> akira_app::Result<()> {
    let (width, height) = display::size()?;
    info!("screen {width} x {height}");
    display::fill(BACKGROUND)?;
    display::fill_rect(10, 10, 60, 40, Color::RED)?;
    display::rect(80, 10, 60, 40, Color::YELLOW)?;
    display::line(150, 10, 229, 49, Color::GREEN)?;
    display::line(150, 49, 229, 10, Color::CYAN)?;
    display::text(10, 62, "Akira", Color::WHITE)?;
    display::text(10, 78, "wasm apps on microcontrollers", Color::rgb(200, 200, 200))?;
    display::blit(200, 100, SIDE, SIDE, &checkerboard())?;
    display::rect(0, 0, width, height, Color::WHITE)?;
    display::flush()?;
    info!("frame drawn");
    Ok(())
}

akira_app::main!(run);
